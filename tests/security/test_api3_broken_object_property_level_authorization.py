"""OWASP API3:2023 Broken Object Property Level Authorization: nobody writes a property that is not theirs to
set (mass assignment: registering as an admin, with a status, a balance, a credit limit or a verified email;
a bid profile's seller; a call's seller, price, status or source; any other body given a field its route
does not take) and no answer shows a property its reader may not see (password and token hashes, another
user's email, the caller's and callee's numbers in the auction views sellers read, rival sellers' bids)."""
from __future__ import annotations

import json

import pytest

from tests.api.test_webhooks import buyer  # noqa: F401 - fixture: a buyer with an exchange number
from tests.helpers import PASSWORD, error_fields, registration
from tests.security.helpers import CALLEE, CALLER, UNKNOWN
from tests.security.helpers import afternoon, market, quick_password_hashing, recording_api  # noqa: F401 - fixtures


@pytest.mark.parametrize("field, value", [
    ("account_type", "admin"), ("role", "admin"), ("is_admin", True), ("status", "active"), ("balance", "1000.00"),
    ("credit_limit", "1000000"), ("email_verified", True), ("id", UNKNOWN), ("user_id", UNKNOWN),
    ("password_hash", "$argon2id$v=19$m=19456,t=2,p=1$x$y"),
])
def test_registration_sets_no_property_but_its_own(market, field, value):
    body = registration(**{field: value})
    refused = market.api.post("/auth/register", body)
    assert refused.status == 400 and error_fields(refused) == {field}
    # Nothing was made: the address has no account.
    assert market.api.post("/auth/login", {"email": body["email"], "password": PASSWORD}).status == 401
    assert market.api.post("/auth/register", registration(email=body["email"])).status == 201


PROFILE_BOOKKEEPING = [("seller_id", UNKNOWN), ("profile_id", UNKNOWN), ("paused", False),
                       ("created_at", "2020-01-01T00:00:00Z"), ("spent_today", "0.00")]


def test_a_bid_profile_takes_no_seller_or_bookkeeping_from_its_body(market):
    from chalicelib.persistence.tables import BidProfileModel

    api = market.api
    sam = market.user("seller")
    kept = market.profile(sam, "5.00")
    for field, value in PROFILE_BOOKKEEPING:
        body = {"bid_amount": "5.00", "destination_number": "+13125552671", field: value}
        created = api.post("/bid-profiles", body, token=sam["token"])
        assert created.status == 400 and error_fields(created) == {field}, field
        updated = api.put(f"/bid-profiles/{kept['id']}", {field: value}, token=sam["token"])
        assert updated.status == 400 and error_fields(updated) == {field}, field
    shown = api.get(f"/bid-profiles/{kept['id']}", token=sam["token"]).data
    assert {**shown, "usage": None} == kept  # unchanged (only GET reads its usage)
    assert [p.seller_id for p in BidProfileModel.scan()] == [sam["user"]["id"]]


ROUTING_AND_BILLING = [
    ("seller_id", UNKNOWN), ("buyer_id", UNKNOWN), ("owner_id", UNKNOWN), ("price", "0.01"), ("status", "completed"),
    ("source", "twilio"), ("call_sid", "CA" + "0" * 32), ("billable", True), ("cost", "0.00"),
    ("profile_id", UNKNOWN), ("destination_number", "+13125550000"), ("auction_id", UNKNOWN), ("duration", 9),
]


def test_a_call_takes_none_of_what_routing_and_billing_decide(market):
    from chalicelib.persistence.tables import CallModel

    buyer = market.user("buyer")
    for field, value in ROUTING_AND_BILLING:
        refused = market.api.post("/calls", {"from_number": CALLER, "to_number": CALLEE, field: value},
                                  token=buyer["token"])
        assert refused.status == 400 and error_fields(refused) == {field}, field
    assert CallModel.count() == 0


# Bodies each route takes, with one property it must not: refused with 400 naming it, before the id is looked up.
FOREIGN_PROPERTIES = [
    ("buyer", "PATCH", f"/calls/{UNKNOWN}/status", {"status": "canceled", "billable": True}, "billable"),
    ("buyer", "POST", f"/calls/{UNKNOWN}/complete", {"duration": 60, "cost": "0.00"}, "cost"),
    ("buyer", "POST", f"/calls/{UNKNOWN}/complete", {"duration": 60, "billed_seconds": 0}, "billed_seconds"),
    ("buyer", "POST", "/auctions", {"call_id": UNKNOWN, "owner_id": UNKNOWN}, "owner_id"),
    ("buyer", "POST", "/auctions", {"call_id": UNKNOWN, "winner": {"seller_id": UNKNOWN}}, "winner"),
    ("seller", "POST", "/bids", {"auction_id": UNKNOWN, "amount": "5.00", "seller_id": UNKNOWN}, "seller_id"),
    ("seller", "POST", "/bids", {"auction_id": UNKNOWN, "amount": "5.00", "placed_at": "2020-01-01T00:00:00Z"},
     "placed_at"),
    ("buyer", "PUT", f"/numbers/{UNKNOWN}", {"friendly_name": "x", "owner_id": UNKNOWN}, "owner_id"),
    ("buyer", "PUT", f"/numbers/{UNKNOWN}", {"friendly_name": "x", "status": "ACTIVE"}, "status"),
    ("buyer", "PUT", f"/numbers/{UNKNOWN}", {"friendly_name": "x", "monthly_price": "0.00"}, "monthly_price"),
    ("buyer", "POST", "/numbers/purchase", {"numbers": [{"phone_number": "+14155550100", "friendly_name": "x",
                                                         "setup_price": "0.00"}]}, "numbers.0.setup_price"),
    ("buyer", "POST", "/auth/logout", {"user_id": UNKNOWN, "all_devices": True}, "user_id"),
    ("buyer", "POST", "/auth/change-password", {"current_password": PASSWORD, "new_password": "N3w!Passw0rd",
                                                "user_id": UNKNOWN}, "user_id"),
    ("admin", "PUT", f"/admin/users/{UNKNOWN}", {"account_type": "admin"}, "account_type"),
    ("admin", "PUT", f"/admin/users/{UNKNOWN}", {"balance": "100.00"}, "balance"),
    ("admin", "POST", f"/admin/users/{UNKNOWN}/credits", {"amount": "1.00", "reason": "x", "currency": "EUR"},
     "currency"),
]


def test_no_body_sets_a_property_its_route_does_not_take(market):
    tokens = {"buyer": market.user("buyer")["token"], "seller": market.user("seller")["token"],
              "admin": market.admin["token"]}
    for role, method, path, body, field in FOREIGN_PROPERTIES:
        refused = market.api.call(method, path, body, token=tokens[role])
        assert refused.status == 400 and error_fields(refused) == {field}, (method, path, refused.body)
    assert market.api.get("/profile", token=tokens["buyer"]).status == 200  # neither logged out nor changed


def test_no_answer_shows_a_hash_another_users_email_or_an_auctioned_callers_number(market):
    """A whole market day, every answer kept: then each reader's answers are searched."""
    from chalicelib.persistence.tables import AccountTokenModel
    from chalicelib.persistence.tables import SessionModel, UserModel

    api = market.api
    ada = market.user("buyer", "10.00")
    sam, tia = market.user("seller", "50.00"), market.user("seller", "50.00")
    for seller in (sam, tia):
        market.profile(seller, "2.00")
    api.post("/auth/forgot-password", {"email": ada["email"]})
    refreshed = api.post("/auth/refresh", {"refresh_token": ada["tokens"]["refresh_token"]})
    assert refreshed.status == 200
    ada["token"] = refreshed.data["access_token"]
    call = market.call(ada, direction="inbound")
    auction = market.auction(ada, call)
    # What sellers read of an auction: the open list, the auction, their own bids.
    for seller, amount in ((sam, "4.00"), (tia, "3.00")):
        assert [a["id"] for a in api.get("/auctions", token=seller["token"]).data] == [auction["id"]]
        seen = api.get(f"/auctions/{auction['id']}", token=seller["token"]).data
        assert seen["call_facts"] == {"country": "US", "state": "CA", "call_type": None, "keywords": []}
        assert market.bid(seller, auction["id"], amount).status == 201
        api.get("/bids", token=seller["token"])
    sellers_auction_views = api.texts(sam["token"]) + api.texts(tia["token"])
    assert CALLER not in sellers_auction_views and CALLEE not in sellers_auction_views
    assert "4.00" not in api.texts(tia["token"])  # the rival's bid

    api.post(f"/auctions/{auction['id']}/complete", token=ada["token"])
    assert market.route(ada, call["id"]).data["seller_id"] == sam["user"]["id"]
    market.talk(ada, call["id"])
    assert market.complete(ada, call["id"]).status == 200
    for token in (ada["token"], sam["token"], tia["token"], market.admin["token"]):
        for path in ("/profile", "/calls", "/billing/transactions", "/billing/account", "/analytics/dashboard",
                     "/notifications"):
            api.get(path, token=token)
        api.get(f"/calls/{call['id']}", token=token)
    for path in ("/admin/users", f"/admin/users/{ada['user']['id']}", "/admin/ledger"):
        api.get(path, token=market.admin["token"])

    everything = api.texts()
    hashes = [u.password_hash for u in UserModel.scan()]
    hashes += [s.token_hash for s in SessionModel.scan()] + [h for s in SessionModel.scan() for h in s.previous_hashes]
    hashes += [t.token_hash for t in AccountTokenModel.scan()]
    assert hashes and not [h for h in hashes if h in everything]
    for secret in ("password_hash", "token_hash", "$argon2", PASSWORD, "password_fingerprint"):
        assert secret not in everything, secret
    # Each user reads their own email, never another's (admins read everyone's).
    users = (ada, sam, tia)
    for reader in users:
        mine = api.texts(reader["token"]) + (api.texts(ada["tokens"]["access_token"]) if reader is ada else "")
        assert [u["email"] for u in users if u is not reader and u["email"] in mine] == []


def test_a_seller_does_not_see_its_rivals_attempts_on_a_live_call(market, buyer):
    from tests.api.test_webhooks import Twilio, the_call

    rival, taker = market.user("seller", "50.00"), market.user("seller", "50.00")
    market.profile(rival, "5.00", destination="+13125550002")
    market.profile(taker, "4.00", destination="+13125550003")
    twilio = Twilio(market.api)
    twilio.voice("CA" + "b" * 32)
    twilio.dial_action("CA" + "b" * 32, "no-answer")  # the rival does not answer: the taker is rung
    seen = market.api.get(f"/calls/{the_call('CA' + 'b' * 32).call_id}", token=taker["token"])
    assert seen.status == 200 and seen.data["seller_id"] == taker["user"]["id"]
    text = json.dumps(seen.body)
    for secret in (rival["user"]["id"], "5.00"):
        assert secret not in text


def test_a_closed_auction_does_not_tell_outsiders_who_won(market):
    api = market.api
    ada, bob = market.user("buyer", "10.00"), market.user("buyer")
    sam, tia = market.user("seller", "50.00"), market.user("seller", "50.00")
    for seller in (sam, tia):
        market.profile(seller, "2.00")
    auction = market.auction(ada, market.call(ada))
    winning = market.bid(sam, auction["id"], "4.00").data
    market.bid(tia, auction["id"], "3.00")
    closed = api.post(f"/auctions/{auction['id']}/complete", token=ada["token"]).data
    assert closed["winning_bid"]["seller_id"] == sam["user"]["id"]  # its buyer sees who won
    for outsider in (tia, bob):
        text = json.dumps(api.get(f"/auctions/{auction['id']}", token=outsider["token"]).body)
        for secret in (sam["user"]["id"], winning["profile_id"], winning["id"]):
            assert secret not in text

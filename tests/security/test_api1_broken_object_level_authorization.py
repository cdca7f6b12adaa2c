"""OWASP API1:2023 Broken Object Level Authorization: every resource with an id (calls, auctions and their
bids, bids, bid profiles, numbers, orders, notifications, compliance refusals, billing accounts and ledger
entries, admin routes) answers another user's id as one that does not exist (404), or 403 where the route
or `?user_id=` is not for the caller, and never with the owner's data. A seller sees only the calls routed
to it. Writes on another's object (PUT, PATCH, DELETE, POST) change nothing, as the owner and an admin
read back; and afterwards every account holds exactly what its open calls and orders set aside, and none is
below its credit limit (Market.books_hold)."""
from __future__ import annotations

import json

import pytest

from tests.security.helpers import CALLEE, UNKNOWN
from tests.security.helpers import afternoon, market, quick_password_hashing, recording_api  # noqa: F401 - fixtures


def refused(result, status: int = 404, *secrets: str) -> None:
    """An error envelope with this status that says nothing of the object asked for."""
    assert result.status == status, result.body
    assert result.body["success"] is False and result.error["code"]
    text = json.dumps(result.body)
    for secret in secrets:
        assert secret not in text


def listed_ids(result) -> set[str]:
    assert result.status == 200, result.body
    return {item.get("id") or item.get("order_id") or item.get("transaction_id") for item in result.data}


@pytest.fixture
def people(market):
    """Two buyers and two sellers, with money; the sellers' profiles match every call."""
    ada, bob = market.user("buyer", "10.00"), market.user("buyer", "10.00")
    sam, tia = market.user("seller", "100.00"), market.user("seller", "100.00")
    market.profile(sam, "5.00")
    market.profile(tia, "3.00")
    return ada, bob, sam, tia


def test_a_call_is_seen_and_moved_only_by_its_buyer_its_seller_and_admins(market, people):
    api = market.api
    ada, bob, sam, tia = people
    routed = market.call(ada)
    assert market.route(ada, routed["id"]).data["seller_id"] == sam["user"]["id"]  # 5.00 beats 3.00
    pending = market.call(ada)

    for outsider in (bob, tia):
        for call in (routed, pending):
            refused(api.get(f"/calls/{call['id']}", token=outsider["token"]), 404, call["id"], CALLEE)
        assert not {routed["id"], pending["id"]} & listed_ids(api.get("/calls", token=outsider["token"]))
    assert api.get(f"/calls/{pending['id']}", token=sam["token"]).status == 404  # not routed to sam
    assert listed_ids(api.get("/calls", token=sam["token"])) == {routed["id"]}  # only what is routed to it
    assert api.get(f"/calls/{routed['id']}", token=sam["token"]).data["seller_id"] == sam["user"]["id"]

    # Another buyer's writes: every one is a call that does not exist.
    for method, path, body in (("POST", f"/calls/{pending['id']}/route", None),
                               ("PATCH", f"/calls/{routed['id']}/status", {"status": "canceled"}),
                               ("PATCH", f"/calls/{pending['id']}/status", {"status": "canceled"}),
                               ("POST", f"/calls/{routed['id']}/complete", {"duration": 600}),
                               ("POST", "/auctions", {"call_id": pending["id"], "reserve_price": "1.00"})):
        refused(api.call(method, path, body, token=bob["token"]), 404, pending["id"], routed["id"])
    # The seller the call is routed to may read it, not drive it (buyers' routes).
    refused(api.call("PATCH", f"/calls/{routed['id']}/status", {"status": "canceled"}, token=sam["token"]), 403)
    refused(api.post(f"/calls/{routed['id']}/complete", {"duration": 600}, token=sam["token"]), 403)

    mine = {c["id"]: c for c in api.get("/calls", token=ada["token"]).data}
    assert mine[routed["id"]]["status"] == "queued" and mine[pending["id"]]["status"] == "pending"
    assert mine[pending["id"]]["auction_id"] is None and mine[pending["id"]]["seller_id"] is None
    assert market.balance(sam)["held"] == "5.00" and market.balance(tia)["held"] == "0.00"
    admin = market.admin["token"]
    assert listed_ids(api.get("/calls", token=admin)) == {routed["id"], pending["id"]}
    market.books_hold()


LISTS_BY_USER = ("/calls", "/numbers", "/orders", "/billing/transactions", "/compliance/refusals")


def test_naming_another_user_in_a_list_is_403_for_anyone_but_an_admin(market, people):
    api = market.api
    ada, bob, sam, _ = people
    market.route(ada, market.call(ada)["id"])  # sam's call now, too
    for path in LISTS_BY_USER:
        for intruder in (bob, sam):
            for named in (ada["user"]["id"], UNKNOWN):
                answer = api.get(f"{path}?user_id={named}", token=intruder["token"])
                refused(answer, 403, ada["user"]["id"])
                buyers_route = path in ("/numbers", "/orders", "/compliance/refusals")  # not a seller's at all
                expected = "FORBIDDEN_ACCOUNT_TYPE" if buyers_route and intruder is sam else "FORBIDDEN"
                assert answer.error["code"] == expected, (path, answer.body)
        assert api.get(f"{path}?user_id={bob['user']['id']}", token=bob["token"]).status == 200, path  # oneself
        assert api.get(f"{path}?user_id={ada['user']['id']}", token=market.admin["token"]).status == 200, path


def test_an_auction_shows_its_bids_to_its_owner_only_and_bids_belong_to_their_seller(market, people):
    api = market.api
    ada, bob, sam, tia = people
    call = market.call(ada)
    auction = market.auction(ada, call)
    sams = market.bid(sam, auction["id"], "4.00").data
    tias = market.bid(tia, auction["id"], "3.50").data

    # Anyone may see an auction (sellers bid on it), but only its buyer sees the bids.
    for outsider in (bob, sam, tia):
        seen = api.get(f"/auctions/{auction['id']}", token=outsider["token"])
        assert seen.status == 200 and seen.data["bids"] is None
        assert tias["id"] not in json.dumps(seen.body) and sams["id"] not in json.dumps(seen.body)
    assert {b["id"] for b in api.get(f"/auctions/{auction['id']}", token=ada["token"]).data["bids"]} == \
        {sams["id"], tias["id"]}

    # Another buyer cannot close it; a rival seller cannot read or withdraw a bid; a buyer has no bids.
    refused(api.post(f"/auctions/{auction['id']}/complete", token=bob["token"]), 404)
    refused(api.get(f"/bids/{sams['id']}", token=tia["token"]), 404, "4.00")
    refused(api.call("DELETE", f"/bids/{sams['id']}", token=tia["token"]), 404)
    assert listed_ids(api.get("/bids", token=tia["token"])) == {tias["id"]}
    for buyer in (ada, bob):
        refused(api.get(f"/bids/{sams['id']}", token=buyer["token"]), 403, "4.00")
    refused(api.call("DELETE", f"/bids/{sams['id']}", token=market.admin["token"]), 403)  # a seller's own act
    assert api.get(f"/bids/{sams['id']}", token=market.admin["token"]).data["amount"] == "4.00"

    still = api.get(f"/auctions/{auction['id']}", token=ada["token"]).data
    assert still["status"] == "active" and {b["amount"] for b in still["bids"]} == {"4.00", "3.50"}
    assert api.get(f"/bids/{sams['id']}", token=sam["token"]).status == 200
    market.books_hold()


def test_bid_profiles_are_their_sellers_alone(market):
    api = market.api
    sam, tia = market.user("seller"), market.user("seller")
    kept = market.profile(sam, "7.00", max_budget="50.00")
    path = f"/bid-profiles/{kept['id']}"
    refused(api.get(path, token=tia["token"]), 404, "7.00")
    refused(api.put(path, {"bid_amount": "0.01", "active": False}, token=tia["token"]), 404)
    refused(api.put(path, {"destination_number": "+13125550999"}, token=tia["token"]), 404)
    refused(api.call("DELETE", path, token=tia["token"]), 404)
    assert kept["id"] not in listed_ids(api.get("/bid-profiles", token=tia["token"]))
    buyer = market.user("buyer")
    refused(api.get(path, token=buyer["token"]), 403, "7.00")

    after = api.get(path, token=sam["token"]).data
    assert (after["bid_amount"], after["active"], after["destination_number"]) == ("7.00", True, "+13125552671")
    assert after == api.get(path, token=market.admin["token"]).data


def test_numbers_and_orders_are_their_buyers_alone(market, client, twilio_emulator):
    from tests.api.test_numbers import buy, run_provisioning, search

    api = market.api
    ada, bob = market.user("buyer", "20.00"), market.user("buyer", "20.00")
    phone = search(api, ada["token"], "area_code=415&limit=1")[0]["phone_number"]
    order_id = buy(api, ada["token"], phone).data["order_id"]
    run_provisioning(client)
    number = api.get("/numbers", token=ada["token"]).data[0]
    path = f"/numbers/{number['id']}"

    refused(api.get(path, token=bob["token"]), 404, phone)
    refused(api.put(path, {"friendly_name": "Stolen", "voice_url": "https://evil.example.com/v"},
                    token=bob["token"]), 404, phone)
    refused(api.call("DELETE", path, token=bob["token"]), 404, phone)
    refused(api.get(f"/orders/{order_id}", token=bob["token"]), 404, phone)
    assert listed_ids(api.get("/numbers", token=bob["token"])) == set()
    assert listed_ids(api.get("/orders", token=bob["token"])) == set()
    seller = market.user("seller")
    refused(api.get(path, token=seller["token"]), 403, phone)

    after = api.get(path, token=ada["token"]).data
    assert after == number and after["status"] == "ACTIVE" and after["voice_url"] != "https://evil.example.com/v"
    [at_twilio] = twilio_emulator.owned_numbers()
    assert at_twilio["phone_number"] == phone and at_twilio["friendly_name"] == number["friendly_name"]
    assert api.get(f"/orders/{order_id}", token=ada["token"]).data["status"] == "COMPLETED"
    market.books_hold()


def test_refusals_billing_and_balance_are_the_callers_own(market):
    api = market.api
    ada, bob = market.user("buyer", "10.00"), market.user("buyer")
    api.post("/compliance/dnc", {"phone_number": CALLEE, "reason": "Consumer request"}, token=market.admin["token"])
    assert api.post("/calls", {"from_number": "+14155552671", "to_number": CALLEE},
                    token=ada["token"]).error["code"] == "DNC_BLOCKED"
    assert len(api.get("/compliance/refusals", token=ada["token"]).data) == 1
    assert api.get("/compliance/refusals", token=bob["token"]).data == []

    adas_entries = listed_ids(api.get("/billing/transactions", token=ada["token"]))
    assert adas_entries and not adas_entries & listed_ids(api.get("/billing/transactions", token=bob["token"]))
    for path in ("/billing/account", "/account/balance"):
        own = api.get(path, token=bob["token"])
        assert own.data["balance"] == "0.00"
        # These routes take no query: naming someone else is refused, and shows nothing of theirs.
        named = api.get(f"{path}?user_id={ada['user']['id']}", token=bob["token"])
        refused(named, 400, ada["user"]["id"], "10.00")
    assert api.get("/billing/account", token=bob["token"]).data["user_id"] == bob["user"]["id"]


def test_notifications_are_delivered_to_their_user_only(market, client):
    from tests.workers.test_workers import notification, sqs_event

    api = market.api
    ada, bob = market.user("buyer"), market.user("seller")
    client.lambda_.invoke("deliver_notifications", sqs_event(client, notification(ada["user"]["id"], "n-ada")))
    assert [n["id"] for n in api.get("/notifications", token=ada["token"]).data] == ["n-ada"]
    assert api.get("/notifications", token=bob["token"]).data == []
    refused(api.get(f"/notifications?user_id={ada['user']['id']}", token=bob["token"]), 400)


@pytest.mark.parametrize("attacker", ["buyer", "seller"])
def test_admin_routes_on_another_user_are_403_and_change_nothing(market, attacker):
    api = market.api
    victim = market.user("seller", "25.00")
    intruder = market.user(attacker)
    uid = victim["user"]["id"]
    for method, path, body in (("GET", f"/admin/users/{uid}", None),
                               ("PUT", f"/admin/users/{uid}", {"credit_limit": "1000.00"}),
                               ("PUT", f"/admin/users/{uid}", {"active": False}),
                               ("PUT", f"/admin/users/{uid}/suspend", {"reason": "mine now"}),
                               ("PUT", f"/admin/users/{uid}/reactivate", None),
                               ("POST", f"/admin/users/{uid}/credits", {"amount": "500.00", "reason": "gift"}),
                               ("POST", f"/admin/users/{intruder['user']['id']}/credits",
                                {"amount": "500.00", "reason": "gift"})):
        refused(api.call(method, path, body, token=intruder["token"]), 403, victim["email"])
    assert api.get("/profile", token=victim["token"]).data["status"] == "active"
    assert market.balance(victim) == {**market.balance(victim), "balance": "25.00", "credit_limit": "0.00"}
    assert market.balance(intruder)["balance"] == "0.00"
    market.books_hold()

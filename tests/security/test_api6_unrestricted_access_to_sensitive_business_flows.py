"""OWASP API6:2023 Unrestricted Access to Sensitive Business Flows: the market's flows cannot be gamed. An
unfunded seller bidding 999.00 on everything cannot block routing; a bid its seller cannot cover (9,999.00)
is 402; a suspended or deactivated seller wins nothing and has nothing held; a buyer cannot sell its call to
itself, nor to a profile that takes only calls the telephony provider vouches for; reported durations cannot
take a buyer past its credit limit; a call settles once however often (and however concurrently) it is
completed; an admin credit's Idempotency-Key credits once. After each: every account holds exactly what
its open calls set aside, and none is below its credit limit (Market.books_hold)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from tests.security.helpers import afternoon, market, quick_password_hashing, recording_api  # noqa: F401 - fixtures


@pytest.fixture
def buyer(market):
    return market.user("buyer", "10.00")


def fair_seller(market, bid: str = "3.00", funds: str = "100.00") -> dict:
    seller = market.user("seller", funds)
    market.profile(seller, bid)
    return seller


def test_an_unfunded_seller_bidding_999_on_everything_cannot_block_routing(market, buyer):
    broke = market.user("seller")
    market.profile(broke, "999.00")  # no criteria: it matches every call
    fair = fair_seller(market)
    for _ in range(3):
        routed = market.route(buyer, market.call(buyer)["id"])
        assert routed.status == 200 and routed.data["seller_id"] == fair["user"]["id"], routed.body
    assert market.balance(broke)["held"] == "0.00" and market.balance(fair)["held"] == "9.00"
    market.books_hold()


def test_an_unfunded_9999_bid_is_402_and_the_auction_goes_to_a_bid_that_can_pay(market, buyer):
    broke = market.user("seller", "1.00")
    market.profile(broke, "1.00")
    fair = fair_seller(market)
    call = market.call(buyer)
    auction = market.auction(buyer, call)
    refused = market.bid(broke, auction["id"], "9999.00")
    assert refused.status == 402 and refused.error["code"] == "INSUFFICIENT_FUNDS"
    assert market.bid(fair, auction["id"], "4.00").status == 201
    closed = market.api.post(f"/auctions/{auction['id']}/complete", token=buyer["token"]).data
    assert closed["winner"]["seller_id"] == fair["user"]["id"] and closed["bid_count"] == 1
    routed = market.route(buyer, call["id"])
    assert routed.status == 200 and routed.data["price"] == "4.00"
    assert market.balance(broke) == {**market.balance(broke), "balance": "1.00", "held": "0.00"}
    market.books_hold()


@pytest.mark.parametrize("sanction", ["suspend", "deactivate"])
def test_a_sanctioned_seller_wins_nothing_and_has_nothing_held(market, buyer, sanction):
    api, admin = market.api, market.admin["token"]
    bad = fair_seller(market, bid="40.00")
    fair = fair_seller(market, bid="3.00")
    call = market.call(buyer)
    auction = market.auction(buyer, call)
    assert market.bid(bad, auction["id"], "50.00").status == 201
    assert market.bid(fair, auction["id"], "4.00").status == 201
    uid = bad["user"]["id"]
    if sanction == "suspend":
        done = api.put(f"/admin/users/{uid}/suspend", {"reason": "fraud"}, token=admin)
    else:
        done = api.put(f"/admin/users/{uid}", {"active": False}, token=admin)
    assert done.status == 200, done.body
    assert market.bid(bad, auction["id"], "60.00").status == 401  # its sessions ended

    closed = api.post(f"/auctions/{auction['id']}/complete", token=buyer["token"]).data
    assert closed["winner"]["seller_id"] == fair["user"]["id"]
    assert market.route(buyer, call["id"]).data["seller_id"] == fair["user"]["id"]
    instant = market.route(buyer, market.call(buyer)["id"])
    assert instant.data["seller_id"] == fair["user"]["id"] and instant.data["price"] == "3.00"
    assert market.balance(bad) == {**market.balance(bad), "balance": "100.00", "held": "0.00"}
    market.books_hold()


def test_a_buyer_cannot_sell_its_call_to_itself(market, buyer):
    api = market.api
    # A buyer has no way to bid: no profiles, no bids.
    assert api.post("/bid-profiles", {"bid_amount": "0.01", "destination_number": "+13125552671"},
                    token=buyer["token"]).status == 403
    call = market.call(buyer)
    auction = market.auction(buyer, call, reserve="0.01")
    assert market.bid(buyer, auction["id"], "0.01").status == 403
    # An admin may keep a profile and bring calls: its own call never goes to its own profile.
    admin = market.admin
    market.fund(admin, "10.00")
    market.profile(admin, "9.00")
    own = market.call(admin)
    alone = market.route(admin, own["id"])
    assert alone.status == 400 and alone.error["code"] == "NO_BIDS_AVAILABLE"
    fair = fair_seller(market)
    assert market.route(admin, own["id"]).data["seller_id"] == fair["user"]["id"]
    market.books_hold()


def test_a_buyer_cannot_report_calls_to_a_profile_that_takes_only_verified_ones(market, buyer):
    careful = market.user("seller", "100.00")
    market.profile(careful, "8.00", verified_only=True)
    call = market.call(buyer)
    refused = market.route(buyer, call["id"])
    assert refused.status == 400 and refused.error["code"] == "NO_BIDS_AVAILABLE"
    auction = market.auction(buyer, call)
    assert market.api.get("/auctions", token=careful["token"]).data == []  # not offered to it
    refused = market.bid(careful, auction["id"], "8.00")
    assert refused.status == 400 and refused.error["code"] == "NO_MATCHING_PROFILE"
    assert market.balance(careful)["held"] == "0.00"
    market.books_hold()


def test_reported_durations_never_take_a_buyer_past_its_credit_limit(market):
    """Issue 11: a buyer with 0.02 completed three calls of 86,400 s and ended at -86.38 (credit limit 0)."""
    poor = market.user("buyer", "0.02")
    fair_seller(market, bid="0.01")
    completed = 0
    for _ in range(3):
        call = market.call(poor)
        routed = market.route(poor, call["id"])
        if routed.status != 200:
            assert routed.status == 402 and routed.error["code"] == "INSUFFICIENT_FUNDS"
            continue
        market.talk(poor, call["id"])
        done = market.complete(poor, call["id"], 86_400)
        assert done.status == 200 and done.data["billed_seconds"] < 86_400
        completed += 1
    assert completed >= 1
    money = market.balance(poor)
    assert Decimal(money["balance"]) + Decimal(money["credit_limit"]) >= 0 and Decimal(money["available"]) >= 0
    market.books_hold()


def test_completing_a_call_again_settles_nothing_more(market, buyer):
    fair = fair_seller(market, bid="10.00")
    call = market.call(buyer)
    market.route(buyer, call["id"])
    market.talk(buyer, call["id"])
    answers = [market.complete(buyer, call["id"], 125) for _ in range(3)]
    assert [a.status for a in answers] == [200, 400, 400]
    assert {a.error["code"] for a in answers[1:]} == {"INVALID_STATE"}
    assert market.balance(fair)["balance"] == "90.00" and market.balance(buyer)["earnings"] == "7.94"
    cancel = market.api.call("PATCH", f"/calls/{call['id']}/status", {"status": "canceled"}, token=buyer["token"])
    assert cancel.status == 400 and market.balance(fair)["balance"] == "90.00"  # no refund of a delivered call
    market.books_hold()


def test_concurrent_completes_and_endings_settle_once(market, buyer):
    """Ten completes and two failures of one call at once, from threads (each DynamoDB request atomic):
    one ending wins, and the price moves once or not at all."""
    from chalicelib.domain.errors import InvalidState
    from chalicelib.persistence.tables import LedgerEntryModel
    from chalicelib.services import calls
    from chalicelib.services.sessions import authenticate

    fair = fair_seller(market, bid="10.00")
    call = market.call(buyer)
    market.route(buyer, call["id"])
    market.talk(buyer, call["id"])
    principal = authenticate(buyer["token"])
    start = threading.Barrier(12)

    def end(n):
        start.wait()  # all at once
        try:
            if n % 6 == 5:
                return calls.change_status(principal, call["id"], "failed").status
            return calls.complete_call(principal, call["id"], 125).status
        except InvalidState:
            return "refused"

    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(end, range(12)))
    assert len([o for o in outcomes if o != "refused"]) == 1, outcomes
    final = market.api.get(f"/calls/{call['id']}", token=buyer["token"]).data["status"]
    settled = [e for e in LedgerEntryModel.scan() if e.kind == "call_settlement" and e.account_id == fair["user"]["id"]]
    money = market.balance(fair)
    assert money["held"] == "0.00"
    if final == "completed":
        assert len(settled) == 1 and money["balance"] == "90.00"
    else:
        assert final == "failed" and settled == [] and money["balance"] == "100.00"
    market.books_hold()


def test_an_idempotency_key_credits_once(market):
    api, admin = market.api, market.admin["token"]
    ada, bob = market.user("buyer"), market.user("buyer")

    def credit(user, amount, key="welcome-1"):
        return api.post(f"/admin/users/{user['user']['id']}/credits", {"amount": amount, "reason": "Welcome"},
                        token=admin, headers={"Idempotency-Key": key})

    first, again = credit(ada, "20.00"), credit(ada, "20.00")
    assert first.status == 201 and again.status == 201
    assert again.data["transaction_id"] == first.data["transaction_id"]
    reused = credit(ada, "900.00")
    assert reused.status == 409 and reused.error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert credit(bob, "5.00").status == 201  # a key is the credited user's: another user's is another credit
    start = threading.Barrier(8)

    def retry(_):
        start.wait()
        return _credit_service(ada["user"]["id"], "racing")

    with ThreadPoolExecutor(8) as pool:  # the same retry, many times at once, below the HTTP layer
        list(pool.map(retry, range(8)))
    assert market.balance(ada)["balance"] == "21.00" and market.balance(bob)["balance"] == "5.00"
    market.books_hold()


def _credit_service(user_id: str, key: str):
    from chalicelib.domain.errors import Conflict
    from chalicelib.services import admin

    try:
        return admin.credit(user_id, "1.00", "race", key)
    except Conflict:  # a racing twin's posting was still being written
        return None

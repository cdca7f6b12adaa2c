"""Real-time bidding, in-process (moto, the Chalice test client, the Twilio emulator) with sellers' bidders
as real HTTP servers on the loopback.

Outbound: RTB profiles compete with static ones at their bidders' prices; a slow bidder is dropped at its
timeout, malformed answers are no bid, and a bid its seller cannot pay is passed over. Inbound: a buyer's
ping reserves a seller (its price held) at a pool number an admin bought; a repeat ping answers the same bid;
the live call from the pinged caller rings the reserved seller and is settled with the pinging buyer as its
buyer; another caller is refused and recorded; an expired reservation is released by the hold job."""
from __future__ import annotations

import threading
import uuid

import pytest

from chalicelib.domain import signing
from tests.api.test_holds import held_and_balance, run_hold_job
from tests.api.test_numbers import buy, run_provisioning, search
from tests.api.test_webhooks import CALLER, Twilio, balance, dialed, said_goodbye, seller, the_call, twiml
from tests.overrides import settings  # noqa: F401 - a fixture
from tests.receiver import Receiver

pytestmark = pytest.mark.usefixtures("afternoon_in_new_york", "loopback")
EXCHANGE_NUMBER = "+14155550100"


@pytest.fixture
def loopback(settings):
    settings(ALLOW_LOOPBACK_CALLBACKS="true")


@pytest.fixture
def bidders():
    made: list[Receiver] = []

    def bidder(status: int = 200, answer=None, handler=None) -> Receiver:
        found = Receiver(answer=handler) if handler else Receiver().answering(status, answer if answer is not None else {})
        made.append(found)
        return found

    yield bidder
    for found in made:
        found.close()


def rtb_seller(api, url: str, destination: str = "+13125550007", funds: str = "50.00", timeout_ms: int = 1000,
               **rtb) -> tuple[dict, dict]:
    user = api.register("seller")
    if funds:
        api.fund(user, funds)
    created = api.post("/bid-profiles", {"destination_number": destination,
                                         "rtb": {"url": url, "timeout_ms": timeout_ms, **rtb}}, token=user["token"])
    assert created.status == 201, created.body
    return user, created.data


def routed(api, buyer) -> dict:
    """A call the buyer reports and routes at once: the routing's answer (or its error)."""
    call = api.post("/calls", {"from_number": CALLER, "to_number": EXCHANGE_NUMBER, "direction": "inbound",
                               "call_type": "sales"}, token=buyer["token"])
    assert call.status == 201, call.body
    result = api.post(f"/calls/{call.data['id']}/route", token=buyer["token"])
    return result


def pings(call: dict) -> dict:
    return {entry["profile_id"]: entry["ping"] for entry in call["routing_log"] if entry["outcome"] == "pinged"}


# --- outbound ---------------------------------------------------------------------------------------

def test_a_bidders_price_beats_a_static_one_and_its_ping_is_signed_without_the_caller(api, bidders):
    bidder = bidders(answer={"bid_amount": "4.00", "destination_number": "+13125550009", "bid_id": "their-1"})
    static = seller(api, "3.00", "+13125550001")
    rtb_user, profile = rtb_seller(api, bidder.url("/bid"))
    assert profile["rtb"]["secret"].startswith("rtbsec_") and profile["bid_amount"] is None
    assert api.get(f"/bid-profiles/{profile['id']}", token=rtb_user["token"]).data["rtb"]["secret"] is None
    buyer = api.register("buyer")
    result = routed(api, buyer)
    assert result.status == 200, result.body
    call = result.data
    assert (call["seller_id"], call["price"], call["destination_number"]) == (rtb_user["user"]["id"], "4.00",
                                                                              "+13125550009")
    assert pings(call)[profile["id"]]["result"] == "bid" and pings(call)[profile["id"]]["bid_amount"] == "4.00"
    assert pings(call)[profile["id"]]["bid_id"] == "their-1"
    [ping] = bidder.received
    assert signing.verify(profile["rtb"]["secret"], ping.body, ping.headers["x-exchange-signature"],
                          int(__import__("chalicelib.clock", fromlist=["now"]).now().timestamp()))
    assert ping.json["call_id"] == call["id"] and ping.json["state"] == "CA" and "caller_id" not in ping.json
    assert balance(api, rtb_user)["held"] == "4.00" and balance(api, static)["held"] == "0.00"
    # Its seller sees its own entries only.
    seen = api.get(f"/calls/{call['id']}", token=rtb_user["token"]).data["routing_log"]
    assert {entry["profile_id"] for entry in seen} == {profile["id"]}


def test_a_slow_bidder_is_dropped_at_its_timeout_and_the_routing_answers(api, bidders):
    released = threading.Event()

    def slow(received):
        released.wait(10)  # answers only once the routing has answered (a bound, should the test fail)
        return 200, b'{"bid_amount": "9.00"}'

    bidder = bidders(handler=slow)
    static = seller(api, "3.00", "+13125550001")
    _, profile = rtb_seller(api, bidder.url("/bid"), timeout_ms=50)
    try:
        result = routed(api, api.register("buyer"))
    finally:
        released.set()
    assert result.status == 200 and result.data["seller_id"] == static["user"]["id"], result.body
    assert pings(result.data)[profile["id"]]["result"] == "timeout"


def test_malformed_answers_and_zero_are_no_bid(api, bidders):
    static = seller(api, "3.00", "+13125550001")
    profiles = {}
    for name, status, answer in (("not_json", 200, b"<html>"), ("server_error", 500, {"bid_amount": "8.00"}),
                                 ("bad_amount", 200, {"bid_amount": "8.001"}), ("zero", 200, {"bid_amount": 0})):
        _, profile = rtb_seller(api, bidders(status, answer).url("/bid"))
        profiles[name] = profile["id"]
    result = routed(api, api.register("buyer"))
    assert result.status == 200 and result.data["seller_id"] == static["user"]["id"]
    results = {name: pings(result.data)[profile_id]["result"] for name, profile_id in profiles.items()}
    assert results == {"not_json": "error", "server_error": "error", "bad_amount": "error", "zero": "no_bid"}


def test_a_bid_its_seller_cannot_pay_is_passed_over(api, bidders):
    static = seller(api, "3.00", "+13125550001")
    poor, profile = rtb_seller(api, bidders(answer={"bid_amount": "5.00"}).url("/bid"), funds="1.00")
    result = routed(api, api.register("buyer"))
    assert result.data["seller_id"] == static["user"]["id"]
    skipped = [e for e in result.data["routing_log"] if e["profile_id"] == profile["id"] and e["outcome"] == "skipped"]
    assert [e["reason"] for e in skipped] == ["cannot_pay"] and balance(api, poor)["held"] == "0.00"


def test_an_rtb_profile_has_no_bid_amount_and_a_public_url(api, settings):
    user = api.register("seller")
    both = api.post("/bid-profiles", {"bid_amount": "3.00", "destination_number": "+13125550001",
                                      "rtb": {"url": "https://bids.example.com/ping"}}, token=user["token"])
    assert both.status == 400
    no_number = api.post("/bid-profiles", {"rtb": {"url": "https://bids.example.com/ping"}}, token=user["token"])
    assert no_number.status == 400
    slow = api.post("/bid-profiles", {"destination_number": "+13125550001",
                                      "rtb": {"url": "https://bids.example.com/ping", "timeout_ms": 2001}},
                    token=user["token"])
    assert slow.status == 400
    settings(ALLOW_LOOPBACK_CALLBACKS="false")  # outside `make run`
    local = api.post("/bid-profiles", {"destination_number": "+13125550001",
                                       "rtb": {"url": "http://127.0.0.1:9/ping"}}, token=user["token"])
    assert local.status == 400 and local.error["details"][0]["field"] == "rtb.url"


# --- inbound ----------------------------------------------------------------------------------------

@pytest.fixture
def pool(api, client):
    """An admin's pool number, bought with the usual purchase (routing rtb_pool)."""
    admin = api.admin()
    api.post(f"/admin/users/{admin['user_id']}/credits", {"amount": "50.00", "reason": "pool"}, token=admin["token"],
             headers={"Idempotency-Key": str(uuid.uuid4())})
    number = search(api, admin["token"])[0]["phone_number"]
    bought = buy(api, admin["token"], number, routing="rtb_pool", call_type="sales")
    assert bought.status == 201, bought.body
    assert run_provisioning(client) == 1
    return {"number": number, "admin": admin}


def ping(api, buyer, caller: str = CALLER, **facts):
    return api.post("/rtb/pings", {"from_number": caller, "call_type": "sales", **facts}, token=buyer["token"])


def test_only_admins_may_route_numbers_to_the_pool_and_sellers_may_not_ping(api, pool):
    buyer = api.register("buyer")
    api.fund(buyer, "20.00")
    number = search(api, buyer["token"])[1]["phone_number"]
    refused = buy(api, buyer["token"], number, routing="rtb_pool")
    assert refused.status == 403 and refused.error["code"] == "RTB_POOL_ADMINS_ONLY"
    assert ping(api, api.register("seller")).status == 403
    listed = api.get("/admin/rtb/pool", token=pool["admin"]["token"]).data
    assert [n["phone_number"] for n in listed] == [pool["number"]]


def test_a_ping_reserves_the_seller_and_its_call_at_the_pool_number_is_settled(api, pool, clock):
    best = seller(api, "5.00", "+13125550002")
    seller(api, "4.00", "+13125550003")
    buyer = api.register("buyer")
    answered = ping(api, buyer)
    assert answered.status == 200, answered.body
    bid = answered.data
    # The buyer would earn the price less the take: 5.00 - 20%.
    assert (bid["bid_amount"], bid["phone_number"], bid["expire_in_seconds"]) == ("4.00", pool["number"], 60)
    assert bid["reject_reason"] is None and balance(api, best)["held"] == "5.00"
    # Ringba's cached ping: the same bid, nothing more held; another buyer gets no bid for this caller.
    clock.advance(seconds=20)
    again = ping(api, buyer).data
    assert (again["bid_id"], again["expire_in_seconds"]) == (bid["bid_id"], 40)
    assert balance(api, best)["held"] == "5.00"
    assert ping(api, api.register("buyer")).data == {"bid_id": None, "bid_amount": "0.00", "phone_number": None,
                                                     "expire_in_seconds": None, "reject_reason": "duplicate"}
    listed = api.get("/admin/rtb/pool", token=pool["admin"]["token"]).data
    assert [r["bid_id"] for r in listed[0]["reservations"]] == [bid["bid_id"]]

    twilio, sid = Twilio(api), "CA" + "7" * 32
    number, dial = dialed(twilio.voice(sid, CALLER, to=pool["number"]))
    assert number == "+13125550002"
    assert balance(api, best)["held"] == "5.00"  # the reservation's hold became the call's: not twice
    for status in ("ringing", "in-progress"):
        twilio.leg(sid, status)
    twilio.leg(sid, "completed", 95)
    twiml(twilio.dial_action(sid, "completed", 95))
    call = the_call(sid)
    assert (call.status, call.owner_id, call.seller_id) == ("completed", buyer["user"]["id"], best["user"]["id"])
    assert balance(api, best)["balance"] == "45.00" and balance(api, best)["held"] == "0.00"
    assert balance(api, buyer)["earnings"] == "3.96"  # 4.00 less two minutes of telephony
    assert api.get("/admin/rtb/pool", token=pool["admin"]["token"]).data[0]["reservations"] == []
    # The reservation ended: the pool number takes a new one for the same caller.
    assert ping(api, buyer).data["bid_id"] not in (None, bid["bid_id"])


def test_another_caller_at_the_pool_number_is_refused_and_recorded(api, pool):
    seller(api, "5.00", "+13125550002")
    assert ping(api, api.register("buyer")).data["bid_id"]
    twilio = Twilio(api)
    assert said_goodbye(twilio.voice("CA" + "8" * 32, "+14155550199", to=pool["number"]))
    refusals = api.get(f"/compliance/refusals?user_id={pool['admin']['user_id']}", token=pool["admin"]["token"]).data
    assert [(r["from_number"], r["code"]) for r in refusals] == [("+14155550199", "RTB_NO_RESERVATION")]


def test_an_expired_reservation_is_released_by_the_hold_job_and_its_call_refused(api, client, pool, clock):
    best = seller(api, "5.00", "+13125550002")
    assert ping(api, api.register("buyer")).data["bid_id"]
    assert held_and_balance(api, best) == ("5.00", "45.00")
    clock.advance(seconds=59)
    assert run_hold_job(client).get("reservations_released", 0) == 0
    clock.advance(seconds=2)
    assert run_hold_job(client)["reservations_released"] == 1
    assert held_and_balance(api, best) == ("0.00", "50.00")
    assert run_hold_job(client).get("reservations_released", 0) == 0  # once
    assert said_goodbye(Twilio(api).voice("CA" + "9" * 32, CALLER, to=pool["number"]))


def test_no_bid_says_why_and_pings_are_limited_per_buyer(api, pool, settings):
    buyer = api.register("buyer")
    assert ping(api, buyer).data["reject_reason"] == "no_match"
    settings(RTB_PINGS_PER_MINUTE=2)
    assert ping(api, buyer, "+14155550111").status == 200
    limited = ping(api, buyer, "+14155550112")
    assert limited.status == 429 and limited.error["code"] == "RATE_LIMITED"

"""The exchange over the API (seed 003 flows): bid profiles, calls, compliance, auctions, bids, routing,
lifecycle and settlement."""
import pytest

from chalicelib.persistence.ledger import platform_account
from chalicelib.persistence.tables import CallModel, ComplianceRefusalModel, LedgerEntryModel
from chalicelib.services.auctions import sweep_auctions

CALLER = "+14155552671"  # San Francisco, CA
CALLEE = "+12125552671"  # New York, NY
UNKNOWN = "6f1c1d8e-3c7b-4b8e-9a3a-1d2e3f4a5b6c"


pytestmark = pytest.mark.usefixtures("afternoon_in_new_york")  # 13:00 in New York: calling hours


@pytest.fixture
def buyer(api):
    user = api.register("buyer")
    api.fund(user, "10.00")  # the buyer pays the telephony of the calls it routes
    return user


@pytest.fixture
def seller(api):
    user = api.register("seller")
    api.fund(user)
    return user


def profile(api, seller, bid="5.00", countries=(), states=(), **criteria):
    criteria["geography"] = {"countries": list(countries), "states": list(states)}
    body = {"criteria": criteria, "bid_amount": bid, "destination_number": "+13125552671"}
    result = api.post("/bid-profiles", body, token=seller["token"])
    assert result.status == 201, result.body
    return result.data


def new_call(api, buyer, **overrides):
    result = api.post("/calls", {"from_number": CALLER, "to_number": CALLEE, **overrides}, token=buyer["token"])
    assert result.status == 201, result.body
    return result.data


def patch(api, user, call_id, status):
    return api.call("PATCH", f"/calls/{call_id}/status", {"status": status}, token=user["token"])


# --- bid profiles -------------------------------------------------------------------------------

def test_bid_profile_lifecycle(api, seller):
    created = profile(api, seller, bid="7.25", countries=["US"], states=["CA"], call_type="insurance",
                      max_budget="100")
    assert created["bid_amount"] == "7.25" and created["criteria"]["max_budget"] == "100.00"
    assert created["criteria"]["call_type"] == ["insurance"] and created["active"] is True
    path = f"/bid-profiles/{created['id']}"
    assert api.get(path, token=seller["token"]).data["criteria"]["geography"]["states"] == ["CA"]
    # Seed 003: an update of one criterion keeps the rest of the targeting.
    budget = api.put(path, {"criteria": {"max_budget": 200.00}}, token=seller["token"]).data["criteria"]
    assert budget == {"geography": {"countries": ["US"], "states": ["CA"]}, "call_type": ["insurance"],
                      "keywords": [], "max_budget": "200.00", "verified_only": False,
                      "duplicate_window_hours": None}
    updated = api.put(path, {"bid_amount": "8.00", "active": False}, token=seller["token"])
    assert updated.data["bid_amount"] == "8.00" and updated.data["active"] is False
    assert api.get("/bid-profiles", token=seller["token"]).body["pagination"]["total"] == 1
    deleted = api.call("DELETE", path, token=seller["token"])
    assert deleted.status == 204 and deleted.body is None
    assert api.get(path, token=seller["token"]).status == 404


def test_the_seeds_bid_profile_body_is_accepted(api, seller):
    body = {"criteria": {"geography": {"countries": ["US"], "states": ["CA", "NY", "TX"]},
                         "call_type": ["sales", "support"], "max_budget": 150.00,
                         "keywords": ["insurance", "auto", "home"]},
            "active": True, "bid_amount": "3.00", "destination_number": "+13125552671"}
    created = api.post("/bid-profiles", body, token=seller["token"])
    assert created.status == 201, created.body
    assert created.data["criteria"]["call_type"] == ["sales", "support"]


def test_bid_profiles_are_for_sellers_and_their_owners(api, buyer, seller):
    body = {"criteria": {"max_budget": 100}, "bid_amount": "1.00", "destination_number": "+13125552671"}
    assert api.post("/bid-profiles", body, token=buyer["token"]).status == 403
    created = profile(api, seller)
    other = api.register("seller")
    assert api.get(f"/bid-profiles/{created['id']}", token=other["token"]).status == 404
    assert api.call("DELETE", f"/bid-profiles/{created['id']}", token=other["token"]).status == 404


@pytest.mark.parametrize("body", [
    {"bid_amount": "0", "destination_number": "+13125552671"},
    {"bid_amount": "-1", "destination_number": "+13125552671"},
    {"bid_amount": "1", "destination_number": "555"},
    {"bid_amount": "1", "destination_number": "+13125552671", "criteria": {"geography": {"countries": ["XX"]}}},
    {"bid_amount": "1", "destination_number": "+13125552671", "criteria": {"geography": {"states": ["california"]}}},
    {"bid_amount": "1", "destination_number": "+13125552671", "seller_id": UNKNOWN},
])
def test_bid_profile_validation(api, seller, body):
    assert api.post("/bid-profiles", body, token=seller["token"]).status == 400


# --- calls and compliance ------------------------------------------------------------------------

def test_create_call(api, buyer):
    call = new_call(api, buyer, call_type="insurance")
    assert call["status"] == "pending" and call["direction"] == "outbound"
    assert api.get(f"/calls/{call['id']}", token=buyer["token"]).data["id"] == call["id"]
    assert api.get("/calls", token=buyer["token"]).body["pagination"]["total"] == 1
    other = api.register("buyer")
    assert api.get(f"/calls/{call['id']}", token=other["token"]).status == 404
    assert api.get(f"/calls/{UNKNOWN}", token=buyer["token"]).status == 404


@pytest.mark.parametrize("field, value, message", [
    ("from_number", "'; DROP TABLE calls; --", "Invalid from number"),
    ("from_number", "1' OR '1'='1", "Invalid from number"),
    ("from_number", "<script>alert('XSS')</script>", "Invalid from number"),
    ("to_number", "admin'--", "Invalid to number"),
    ("to_number", "+1999", "Invalid to number"),
])
def test_call_numbers_are_validated(api, buyer, field, value, message):
    result = api.post("/calls", {"from_number": CALLER, "to_number": CALLEE, field: value}, token=buyer["token"])
    assert result.status == 400 and result.error["message"] == message
    assert "<script>" not in str(result.body)


def test_sellers_cannot_create_calls(api, seller):
    assert api.post("/calls", {"from_number": CALLER, "to_number": CALLEE}, token=seller["token"]).status == 403


def test_dnc_blocks_outbound_calls_and_is_recorded(api, buyer):
    admin = api.admin()
    added = api.post("/compliance/dnc", {"phone_number": CALLEE, "reason": "Consumer request"}, token=admin["token"])
    assert added.status == 201 and added.data["is_dnc"] is True
    checked = api.get("/compliance/dnc/%2B12125552671", token=buyer["token"]).data
    assert checked == {"phone_number": CALLEE, "is_dnc": True, "reason": "Consumer request", "list_type": "internal"}
    blocked = api.post("/calls", {"from_number": CALLER, "to_number": CALLEE}, token=buyer["token"])
    assert blocked.status == 403 and blocked.error["code"] == "DNC_BLOCKED"
    assert blocked.error["message"] == "Number is on DNC list"
    [refusal] = ComplianceRefusalModel.query(buyer["user"]["id"])
    assert refusal.code == "DNC_BLOCKED" and CALLEE in refusal.reason
    assert api.post("/calls", {"from_number": CALLER, "to_number": CALLEE, "direction": "inbound"},
                    token=buyer["token"]).status == 201  # DNC is about calling out
    assert api.call("DELETE", f"/compliance/dnc/{CALLEE}", token=admin["token"]).status == 204
    assert api.get(f"/compliance/dnc/{CALLEE}", token=buyer["token"]).data["is_dnc"] is False
    assert api.post("/compliance/dnc", {"phone_number": CALLEE, "reason": "x"}, token=buyer["token"]).status == 403


def test_tcpa_window_uses_the_callees_local_time(api, buyer, clock):
    admin = api.admin()
    hours = api.put("/compliance/tcpa/hours", {"start_time": "09:00", "end_time": "13:05",
                                               "timezone": "America/New_York"}, token=admin["token"])
    assert hours.status == 200 and api.get("/compliance/tcpa/hours", token=buyer["token"]).data == hours.data
    assert api.post("/calls", {"from_number": CALLER, "to_number": CALLEE}, token=buyer["token"]).status == 201
    clock.advance(minutes=10)  # 13:10 in New York, 10:10 in San Francisco
    late = api.post("/calls", {"from_number": CALLER, "to_number": CALLEE}, token=buyer["token"])
    assert late.status == 403 and late.error["code"] == "TCPA_VIOLATION"
    to_sf = api.post("/calls", {"from_number": CALLEE, "to_number": CALLER}, token=buyer["token"])
    assert to_sf.status == 201  # 10:10 where the callee is


@pytest.mark.parametrize("body", [{"start_time": "25:00", "end_time": "20:00", "timezone": "UTC"},
                                  {"start_time": "09:00", "end_time": "20:00", "timezone": "Mars/Olympus"}])
def test_tcpa_hours_validation(api, body):
    assert api.put("/compliance/tcpa/hours", body, token=api.admin()["token"]).status == 400


def test_state_restrictions_block_calls_to_and_from_the_state(api, buyer):
    admin = api.admin()
    assert api.post("/compliance/geographic/restrictions", {"state": "CA", "reason": "Licensing"},
                    token=admin["token"]).status == 201
    assert api.post("/compliance/geographic/restrictions", {"state": "CA"}, token=admin["token"]).status == 409
    assert [r["state"] for r in api.get("/compliance/geographic/restrictions", token=buyer["token"]).data] == ["CA"]
    for body in ({"from_number": CALLER, "to_number": CALLEE}, {"from_number": CALLEE, "to_number": CALLER}):
        blocked = api.post("/calls", body, token=buyer["token"])
        assert blocked.status == 403 and blocked.error["code"] == "GEO_RESTRICTED"
        assert blocked.error["message"] == "Call blocked by geographic restriction"
    assert api.call("DELETE", "/compliance/geographic/restrictions/CA", token=admin["token"]).status == 204
    assert api.post("/calls", {"from_number": CALLER, "to_number": CALLEE}, token=buyer["token"]).status == 201


def test_refusals_are_listed_for_their_buyer_and_admins(api, buyer, seller, clock):
    admin = api.admin()
    api.post("/compliance/geographic/restrictions", {"state": "CA"}, token=admin["token"])
    api.post("/calls", {"from_number": CALLER, "to_number": CALLEE}, token=buyer["token"])
    clock.advance(seconds=1)  # "newest first" needs them apart in time
    api.post("/compliance/dnc", {"phone_number": CALLEE, "reason": "Consumer request"}, token=admin["token"])
    api.post("/calls", {"from_number": CALLER, "to_number": CALLEE}, token=buyer["token"])
    first = api.get("/compliance/refusals?limit=1", token=buyer["token"])
    assert first.status == 200 and first.body["pagination"]["total"] == 2
    assert first.data[0]["code"] == "DNC_BLOCKED"  # newest first
    token = first.body["pagination"]["next_token"]
    second = api.get(f"/compliance/refusals?limit=1&next_token={token}", token=buyer["token"])
    assert [r["code"] for r in second.data] == ["GEO_RESTRICTED"] and second.data[0]["to_number"] == CALLEE
    mine = f"/compliance/refusals?user_id={buyer['user']['id']}"
    assert len(api.get(mine, token=admin["token"]).data) == 2
    other = api.register("buyer")
    assert api.get(mine, token=other["token"]).status == 403
    assert api.get("/compliance/refusals", token=other["token"]).data == []
    assert api.get("/compliance/refusals", token=seller["token"]).status == 403


# --- routing, lifecycle, settlement ------------------------------------------------------------

def test_routing_without_bids_is_no_bids_available(api, buyer):
    call = new_call(api, buyer)
    result = api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    assert result.status == 400 and result.error["code"] == "NO_BIDS_AVAILABLE"


def test_instant_routing_picks_the_best_matching_profile(api, buyer, seller):
    other = api.register("seller")
    api.fund(other)
    profile(api, seller, bid="4.00")
    best = profile(api, other, bid="6.00", states=["CA"])
    profile(api, other, bid="9.00", states=["TX"])  # higher, but the caller is in CA
    call = new_call(api, buyer)
    routed = api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    assert routed.status == 200
    assert routed.data["status"] == "queued" and routed.data["profile_id"] == best["id"]
    assert routed.data["price"] == "6.00" and routed.data["destination_number"] == "+13125552671"


def test_completing_without_routing_is_invalid_state(api, buyer):
    call = new_call(api, buyer)
    result = api.post(f"/calls/{call['id']}/complete", {"duration": 120}, token=buyer["token"])
    assert result.status == 400 and result.error["code"] == "INVALID_STATE"


def test_illegal_transitions_are_invalid_state(api, buyer):
    call = new_call(api, buyer)
    assert patch(api, buyer, call["id"], "in_progress").error["code"] == "INVALID_STATE"
    assert patch(api, buyer, call["id"], "canceled").status == 200
    assert patch(api, buyer, call["id"], "ringing").status == 400
    for target in ("completed", "queued", "pending"):  # completing and routing have their own endpoints
        assert patch(api, buyer, call["id"], target).error["code"] == "INVALID_STATE"


def test_full_lifecycle_settles_money_exactly_once(api, buyer, seller):
    profile(api, seller, bid="10.00")
    call = new_call(api, buyer)
    assert api.post(f"/calls/{call['id']}/route", token=buyer["token"]).status == 200
    assert patch(api, buyer, call["id"], "ringing").data["status"] == "ringing"
    in_progress = patch(api, buyer, call["id"], "in_progress").data
    assert in_progress["status"] == "in_progress" and in_progress["start_time"] is not None
    assert in_progress["end_time"] is None
    done = api.post(f"/calls/{call['id']}/complete", {"duration": 125}, token=buyer["token"])
    assert done.status == 200
    assert done.data["status"] == "completed" and done.data["billable"] is True
    assert done.data["cost"] == "0.06"  # three started minutes at $0.02
    assert done.data["buyer_id"] == buyer["user"]["id"] and done.data["seller_id"] == seller["user"]["id"]
    assert done.data["start_time"] == in_progress["start_time"] and done.data["end_time"] == done.data["completed_at"]
    again = api.post(f"/calls/{call['id']}/complete", {"duration": 125}, token=buyer["token"])
    assert again.status == 400 and again.error["code"] == "INVALID_STATE"

    seller_balance = api.get("/account/balance", token=seller["token"]).data
    buyer_balance = api.get("/account/balance", token=buyer["token"]).data
    assert seller_balance["balance"] == "90.00"
    # The telephony ($0.06) comes out of the payout ($8.00) first: the buyer's balance pays nothing.
    assert buyer_balance["earnings"] == "7.94" and buyer_balance["balance"] == "10.00"
    assert seller_balance["held"] == "0.00"
    assert platform_account("platform:revenue").balance == 20_000
    assert sum(e.amount for e in LedgerEntryModel.scan()) == 0
    assert api.get(f"/calls/{call['id']}", token=seller["token"]).status == 200  # the seller sees its call


def test_short_calls_are_not_billable(api, buyer, seller):
    """A call shorter than its profile's conversion_seconds (the platform's 30 s by default) does not
    convert: the seller gets its hold back, and the buyer pays its telephony (one started minute)."""
    profile(api, seller, bid="10.00")
    call = new_call(api, buyer)
    api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    patch(api, buyer, call["id"], "ringing")
    patch(api, buyer, call["id"], "in_progress")
    done = api.post(f"/calls/{call['id']}/complete", {"duration": 10}, token=buyer["token"]).data
    assert done["billable"] is False and done["converted"] is False and done["cost"] == "0.02"
    seller_balance = api.get("/account/balance", token=seller["token"]).data
    assert seller_balance["balance"] == "100.00" and seller_balance["held"] == "0.00"
    assert api.get("/account/balance", token=buyer["token"]).data["balance"] == "9.98"


def test_routing_holds_the_price_so_the_seller_cannot_overspend(api, buyer):
    seller = api.register("seller")
    api.fund(seller, "5.00")
    profile(api, seller, bid="5.00")
    first, second = new_call(api, buyer), new_call(api, buyer)
    assert api.post(f"/calls/{first['id']}/route", token=buyer["token"]).status == 200
    held = api.get("/account/balance", token=seller["token"]).data
    assert held["balance"] == "0.00" and held["held"] == "5.00" and held["available"] == "0.00"
    refused = api.post(f"/calls/{second['id']}/route", token=buyer["token"])  # its only seller cannot pay
    assert refused.status == 400 and refused.error["code"] == "NO_BIDS_AVAILABLE"
    assert CallModel.get(second["id"]).status == "pending"


def test_a_complete_that_loses_a_race_is_invalid_state_and_moves_no_money(api, buyer, seller, monkeypatch):
    """The call fails while its completion is on the way: the completion finds the call changed (and
    the held price gone), which is INVALID_STATE, not a 402."""
    from chalicelib.services import calls as calls_service

    profile(api, seller, bid="10.00")
    call = new_call(api, buyer)
    api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    patch(api, buyer, call["id"], "ringing")
    patch(api, buyer, call["id"], "in_progress")
    settle = calls_service.settlement.settle

    def failed_first(read_call, duration):
        assert patch(api, buyer, call["id"], "failed").status == 200  # lands between the read and the write
        return settle(read_call, duration)

    monkeypatch.setattr(calls_service.settlement, "settle", failed_first)
    lost = api.post(f"/calls/{call['id']}/complete", {"duration": 125}, token=buyer["token"])
    assert lost.status == 400 and lost.error["code"] == "INVALID_STATE"
    assert api.get(f"/calls/{call['id']}", token=buyer["token"]).data["status"] == "failed"
    balance = api.get("/account/balance", token=seller["token"]).data
    assert balance["balance"] == "100.00" and balance["held"] == "0.00"


@pytest.mark.parametrize("ending", ["canceled", "failed", "no_answer", "busy"])
def test_a_routed_call_that_is_not_delivered_gives_the_held_price_back(api, buyer, seller, ending):
    profile(api, seller, bid="10.00", max_budget="10.00")
    call = new_call(api, buyer)
    api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    assert patch(api, buyer, call["id"], ending).data["status"] == ending
    balance = api.get("/account/balance", token=seller["token"]).data
    assert balance["balance"] == "100.00" and balance["held"] == "0.00"
    again = new_call(api, buyer)  # the day's budget came back too
    assert api.post(f"/calls/{again['id']}/route", token=buyer["token"]).status == 200
    assert patch(api, buyer, call["id"], "canceled").error["code"] == "INVALID_STATE"  # ended once


def test_a_buyer_without_funds_sells_a_call_whose_payout_pays_its_minutes(api, seller):
    broke = api.register("buyer")
    profile(api, seller, bid="5.00")
    call = new_call(api, broke)
    assert api.post(f"/calls/{call['id']}/route", token=broke["token"]).status == 200
    patch(api, broke, call["id"], "ringing")
    patch(api, broke, call["id"], "in_progress")
    done = api.post(f"/calls/{call['id']}/complete", {"duration": 125}, token=broke["token"]).data
    assert done["cost"] == "0.06"
    money = api.get("/account/balance", token=broke["token"]).data
    assert money["earnings"] == "3.94" and money["balance"] == "0.00"  # $4.00 payout less $0.06 telephony
    assert sum(e.amount for e in LedgerEntryModel.scan()) == 0


def test_no_reported_duration_takes_the_buyer_below_its_credit_limit(api, seller):
    """A buyer with 0.02 reports three calls of 86,400 s: each bills only the talk time its payout and
    what the buyer may still spend can pay for, and the buyer ends at its credit limit, never below."""
    buyer = api.register("buyer")
    api.fund(buyer, "0.02")
    profile(api, seller, bid="0.10")  # a 0.08 payout: four minutes at 0.02
    billed = []
    for _ in range(3):
        call = new_call(api, buyer)
        assert api.post(f"/calls/{call['id']}/route", token=buyer["token"]).status == 200
        patch(api, buyer, call["id"], "ringing")
        patch(api, buyer, call["id"], "in_progress")
        done = api.post(f"/calls/{call['id']}/complete", {"duration": 86_400}, token=buyer["token"])
        assert done.status == 200, done.body
        assert done.data["duration"] == 86_400
        billed.append((done.data["billed_seconds"], done.data["cost"]))
    # The first call's payout and the buyer's 0.02 pay five minutes; then the payout alone pays four.
    assert billed == [(300, "0.10"), (240, "0.08"), (240, "0.08")]
    money = api.get("/account/balance", token=buyer["token"]).data
    assert money["balance"] == "0.00" and money["available"] == "0.00" and money["earnings"] == "0.00"
    assert sum(e.amount for e in LedgerEntryModel.scan()) == 0


def test_a_buyer_who_cannot_pay_what_the_payout_does_not_cover_cannot_route(api, seller):
    broke = api.register("buyer")
    profile(api, seller, bid="0.01")  # a $0.01 payout cannot pay a $0.02 minute
    call = new_call(api, broke)
    result = api.post(f"/calls/{call['id']}/route", token=broke["token"])
    assert result.status == 402 and result.error["code"] == "INSUFFICIENT_FUNDS"
    assert CallModel.get(call["id"]).status == "pending"


def test_an_admins_call_is_not_routed_to_its_own_profile(api, seller):
    admin = api.admin()
    api.fund({"user": {"id": admin["user_id"]}})
    own = profile(api, admin, bid="9.00")
    other = profile(api, seller, bid="3.00")
    call = new_call(api, admin)
    routed = api.post(f"/calls/{call['id']}/route", token=admin["token"]).data
    assert routed["profile_id"] == other["id"] != own["id"]


def test_routing_passes_over_a_seller_who_cannot_pay(api, buyer, seller, clock):
    """An unfunded seller bidding 999.00 with no criteria does not block the market: the call goes to
    the next profile, and with nobody able to pay it stays pending."""
    broke = api.register("seller")
    profile(api, broke, bid="999.00")
    call = new_call(api, buyer)
    nobody = api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    assert nobody.status == 400 and nobody.error["code"] == "NO_BIDS_AVAILABLE"
    assert CallModel.get(call["id"]).status == "pending"
    profile(api, seller, bid="3.00")
    routed = api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    assert routed.status == 200 and routed.data["seller_id"] == seller["user"]["id"]
    assert api.get("/account/balance", token=broke["token"]).data["held"] == "0.00"


def test_daily_budget_limits_instant_routing(api, buyer, seller):
    profile(api, seller, bid="10.00", max_budget="15.00")
    first = new_call(api, buyer)
    api.post(f"/calls/{first['id']}/route", token=buyer["token"])  # counted when routed, not when completed
    second = new_call(api, buyer)
    result = api.post(f"/calls/{second['id']}/route", token=buyer["token"])
    assert result.status == 400 and result.error["code"] == "NO_BIDS_AVAILABLE"  # $5 of budget left today


# --- auctions and bids --------------------------------------------------------------------------

def auction(api, buyer, call, reserve="2.00", duration=60):
    result = api.post("/auctions", {"call_id": call["id"], "reserve_price": reserve, "duration": duration},
                      token=buyer["token"])
    assert result.status == 201, result.body
    return result.data


def bid(api, seller, auction_id, amount):
    return api.post("/bids", {"auction_id": auction_id, "amount": amount}, token=seller["token"])


def test_multi_seller_auction_highest_bid_wins_and_routes(api, buyer, seller):
    sellers = [seller] + [api.register("seller") for _ in range(2)]
    for s in sellers[1:]:
        api.fund(s)
    for s in sellers:
        profile(api, s, bid="1.00")
    call = new_call(api, buyer)
    created = auction(api, buyer, call)
    assert created["status"] == "active" and created["bids"] == []
    assert bid(api, sellers[0], created["id"], "3.00").status == 201
    assert bid(api, sellers[1], created["id"], "4.50").status == 201
    assert bid(api, sellers[2], created["id"], "4.00").status == 201
    assert bid(api, sellers[2], created["id"], "3.50").error["code"] == "BID_TOO_LOW"  # re-bids only go up
    assert bid(api, sellers[2], created["id"], "4.75").status == 201  # a higher re-bid replaces
    closed = api.post(f"/auctions/{created['id']}/complete", token=buyer["token"])
    assert closed.data["status"] == "completed"
    assert closed.data["winner"]["seller_id"] == sellers[2]["user"]["id"]
    assert closed.data["winner"]["amount"] == "4.75" and len(closed.data["bids"]) == 3
    winning = next(b for b in closed.data["bids"] if b["seller_id"] == sellers[2]["user"]["id"])
    assert closed.data["winning_bid"] == {"id": winning["id"], "seller_id": sellers[2]["user"]["id"], "amount": "4.75"}
    routed = api.post(f"/calls/{call['id']}/route", token=buyer["token"]).data
    assert routed["seller_id"] == sellers[2]["user"]["id"] and routed["price"] == "4.75"
    late = bid(api, sellers[0], created["id"], "9.00")
    assert late.status == 409 and late.error["code"] == "AUCTION_CLOSED"


def test_ties_go_to_the_earlier_bid(api, buyer, seller, clock):
    rival = api.register("seller")
    api.fund(rival)
    profile(api, seller)
    profile(api, rival)
    created = auction(api, buyer, new_call(api, buyer))
    bid(api, rival, created["id"], "5.00")
    clock.advance(seconds=1)
    bid(api, seller, created["id"], "5.00")
    closed = api.post(f"/auctions/{created['id']}/complete", token=buyer["token"]).data
    assert closed["winner"]["seller_id"] == rival["user"]["id"]


def test_a_winner_who_deleted_its_profile_is_not_routed_to(api, buyer, seller):
    winning = profile(api, seller)
    call = new_call(api, buyer)
    created = auction(api, buyer, call)
    bid(api, seller, created["id"], "4.00")
    api.post(f"/auctions/{created['id']}/complete", token=buyer["token"])
    assert api.call("DELETE", f"/bid-profiles/{winning['id']}", token=seller["token"]).status == 204
    routed = api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    assert routed.status == 400 and routed.error["code"] == "NO_BIDS_AVAILABLE"
    assert api.get(f"/calls/{call['id']}", token=buyer["token"]).data["status"] == "pending"


def test_auction_rules(api, buyer, seller):
    call = new_call(api, buyer)
    negative = api.post("/auctions", {"call_id": call["id"], "reserve_price": "-1", "duration": 30},
                        token=buyer["token"])
    assert negative.status == 400 and negative.error["message"] == "Reserve price cannot be negative"
    for duration in (0, 901):
        assert api.post("/auctions", {"call_id": call["id"], "duration": duration},
                        token=buyer["token"]).status == 400
    other = api.register("buyer")
    assert api.post("/auctions", {"call_id": call["id"]}, token=other["token"]).status == 404
    created = auction(api, buyer, call, reserve="3.00")
    assert api.post("/auctions", {"call_id": call["id"]}, token=buyer["token"]).status == 409
    profile(api, seller)
    assert bid(api, seller, created["id"], "2.99").error["code"] == "BID_TOO_LOW"
    assert api.post("/bids", {"auction_id": created["id"], "amount": "5"}, token=buyer["token"]).status == 403
    no_profile = api.register("seller")
    assert bid(api, no_profile, created["id"], "5.00").error["code"] == "NO_MATCHING_PROFILE"
    assert "bids" not in api.get(f"/auctions/{created['id']}", token=seller["token"]).data or \
        api.get(f"/auctions/{created['id']}", token=seller["token"]).data["bids"] is None


def test_bids_within_the_profiles_budget(api, buyer, seller):
    profile(api, seller, max_budget="5.00")
    created = auction(api, buyer, new_call(api, buyer), reserve="1.00")
    assert bid(api, seller, created["id"], "6.00").error["code"] == "BUDGET_EXCEEDED"
    assert bid(api, seller, created["id"], "5.00").status == 201
    assert api.get("/bids", token=seller["token"]).body["pagination"]["total"] == 1


def test_no_bid_at_reserve_closes_without_winner(api, buyer, seller, clock):
    created = auction(api, buyer, new_call(api, buyer), reserve="2.00", duration=30)
    clock.advance(seconds=31)
    assert sweep_auctions(clock()) == 1
    closed = api.get(f"/auctions/{created['id']}", token=buyer["token"]).data
    assert closed["status"] == "completed" and closed["winner"] is None and closed["winning_bid"] is None
    assert sweep_auctions(clock()) == 0


def test_the_delayed_message_closes_the_auction_at_its_end(api, client, buyer, seller, clock, outbox):
    from chalicelib.gateways import queues
    from local.dispatcher import sqs_event

    profile(api, seller)
    created = auction(api, buyer, new_call(api, buyer), duration=5)
    bid(api, seller, created["id"], "3.00")
    outbox.publish()  # the closing was stored with the auction: the stream sends it, delayed to the end
    sqs = queues._client()
    url = queues.queue_url(queues.AUCTION_CLOSING)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
    message = {"MessageId": "m", "ReceiptHandle": "r", "Body": '{"auction_id": "%s"}' % created["id"]}
    clock.advance(seconds=5)
    client.lambda_.invoke("close_auctions", sqs_event([message], "arn:aws:sqs:::q", "us-east-1"))
    closed = api.get(f"/auctions/{created['id']}", token=buyer["token"]).data
    assert closed["status"] == "completed" and closed["winner"]["amount"] == "3.00"
    client.lambda_.invoke("close_auctions", sqs_event([message], "arn:aws:sqs:::q", "us-east-1"))  # again: no-op
    assert api.get(f"/auctions/{created['id']}", token=buyer["token"]).data["closed_at"] == closed["closed_at"]

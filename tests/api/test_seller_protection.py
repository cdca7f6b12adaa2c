"""Sellers are protected from reported calls (issue 11 parts 6 and 7): a verified_only profile takes only
calls the telephony provider carried, and a profile's duplicate window makes a repeat caller's call routed
but not billable."""
import pytest

from tests.api.test_exchange import buyer, new_call, patch  # noqa: F401 - buyer: a fixture
from tests.api.test_webhooks import buyer as live_buyer  # noqa: F401 - a fixture: the owner of an exchange number
from tests.api.test_webhooks import dialed, the_call, twilio  # noqa: F401 - twilio: a fixture
from tests.helpers import PASSWORD

CALLER = "+14155552671"


pytestmark = pytest.mark.usefixtures("afternoon_in_new_york")  # 13:00 in New York: calling hours


def seller_with_profile(api, bid="5.00", destination="+13125550002", **criteria):
    seller = api.register("seller")
    api.fund(seller)
    body = {"criteria": criteria, "bid_amount": bid, "destination_number": destination}
    created = api.post("/bid-profiles", body, token=seller["token"])
    assert created.status == 201, created.body
    return seller, created.data


def later(api, clock, *users, **delta):
    """Time passes (access tokens live 15 minutes): the users log in again."""
    clock.advance(**delta)
    for user in users:
        login = api.post("/auth/login", {"email": user["email"], "password": PASSWORD})
        user["token"] = login.data["tokens"]["access_token"]


def deliver(api, buyer, call_id, seconds=60):
    for status in ("ringing", "in_progress"):
        assert patch(api, buyer, call_id, status).status == 200
    done = api.post(f"/calls/{call_id}/complete", {"duration": seconds}, token=buyer["token"])
    assert done.status == 200, done.body
    return done.data


def test_a_verified_only_profile_never_takes_a_reported_call(api, buyer):
    careful, shown = seller_with_profile(api, bid="9.00", verified_only=True)
    assert shown["criteria"]["verified_only"] is True
    other, _ = seller_with_profile(api, bid="3.00")
    routed = api.post(f"/calls/{new_call(api, buyer)['id']}/route", token=buyer["token"])
    assert routed.data["seller_id"] == other["user"]["id"]  # the 9.00 profile is passed over

    opened = api.post("/auctions", {"call_id": new_call(api, buyer)["id"], "duration": 30}, token=buyer["token"])
    bid = api.post("/bids", {"auction_id": opened.data["id"], "amount": "9.00"}, token=careful["token"])
    assert bid.status == 400 and bid.error["code"] == "NO_MATCHING_PROFILE"
    listed = api.get("/auctions?status=active", token=careful["token"])
    assert listed.data == []


def test_a_verified_only_profile_takes_live_calls(api, twilio, live_buyer):
    careful, _ = seller_with_profile(api, bid="9.00", destination="+13125550009", verified_only=True)
    seller_with_profile(api, bid="3.00", destination="+13125550003")
    assert dialed(twilio.voice("CA" + "7" * 32))[0] == "+13125550009"
    assert the_call("CA" + "7" * 32).seller_id == careful["user"]["id"]


def test_a_repeat_caller_within_the_window_is_routed_but_not_billable(api, buyer, clock):
    seller, _ = seller_with_profile(api, bid="5.00", duplicate_window_hours=24)
    first = new_call(api, buyer)
    api.post(f"/calls/{first['id']}/route", token=buyer["token"])
    assert deliver(api, buyer, first["id"])["billable"] is True

    later(api, clock, buyer, seller, hours=2)
    again = new_call(api, buyer)  # the same caller, to the same seller
    routed = api.post(f"/calls/{again['id']}/route", token=buyer["token"]).data
    assert routed["seller_id"] == seller["user"]["id"] and routed["duplicate_caller"] is True
    done = deliver(api, buyer, again["id"], seconds=300)
    # Not billable: no money between seller and buyer; the buyer pays its telephony (5 started minutes).
    assert done["billable"] is False and done["duplicate_caller"] is True and done["cost"] == "0.10"
    money = api.get("/account/balance", token=seller["token"]).data
    assert money["balance"] == "95.00" and money["held"] == "0.00"  # paid the first call only

    later(api, clock, buyer, hours=23)  # 25 hours after the bill: billable again
    third = new_call(api, buyer)
    api.post(f"/calls/{third['id']}/route", token=buyer["token"])
    assert deliver(api, buyer, third["id"])["billable"] is True


def test_another_caller_or_a_profile_without_a_window_is_billable(api, buyer):
    seller_with_profile(api, bid="5.00")
    for caller in (CALLER, CALLER, "+14155552672"):
        call = new_call(api, buyer, from_number=caller)
        api.post(f"/calls/{call['id']}/route", token=buyer["token"])
        assert deliver(api, buyer, call["id"])["billable"] is True


def test_a_duplicate_window_is_validated(api):
    seller = api.register("seller")
    for hours in (0, 721, "24"):
        body = {"criteria": {"duplicate_window_hours": hours}, "bid_amount": "1.00",
                "destination_number": "+13125550002"}
        assert api.post("/bid-profiles", body, token=seller["token"]).status == 400


# --- disputes of reported calls -------------------------------------------------------------------

@pytest.fixture
def billed(api, buyer):
    """A call its buyer reported complete (95 s), billed to the seller: 5.00 less the 20 % take."""
    seller, _ = seller_with_profile(api, bid="5.00")
    call = new_call(api, buyer)
    api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    deliver(api, buyer, call["id"], seconds=95)
    return seller, call["id"]


def balances(api, *users):
    return [(b["balance"], b["earnings"], b["held"]) for b in
            (api.get("/account/balance", token=u["token"]).data for u in users)]


def test_an_accepted_dispute_reverses_the_settlement_exactly(api, buyer, billed):
    seller, call_id = billed
    admin = api.admin()
    before_books = api.get("/admin/ledger", token=admin["token"]).data
    assert balances(api, seller, buyer) == [("95.00", "0.00", "0.00"), ("10.00", "3.96", "0.00")]

    opened = api.post(f"/calls/{call_id}/disputes", {"reason": "No such call"}, token=seller["token"])
    assert opened.status == 201 and opened.data["status"] == "open"
    for user in (buyer, seller):  # both sides see it
        assert api.get(f"/calls/{call_id}", token=user["token"]).data["dispute"]["reason"] == "No such call"
    waiting = api.get("/admin/disputes", token=admin["token"])
    assert [c["id"] for c in waiting.data] == [call_id] and waiting.body["pagination"]["total"] == 1

    decided = api.put(f"/admin/disputes/{call_id}", {"decision": "accepted", "note": "No record"},
                      token=admin["token"])
    assert decided.status == 200 and decided.data["dispute"]["status"] == "accepted"
    assert balances(api, seller, buyer) == [("100.00", "0.00", "0.00"), ("10.00", "0.00", "0.00")]
    assert api.get(f"/calls/{call_id}", token=buyer["token"]).data["dispute"]["note"] == "No record"
    assert api.get("/admin/disputes", token=admin["token"]).data == []
    books = api.get("/admin/ledger", token=admin["token"]).data
    assert books["balanced"] is True
    platform = {a["account_id"]: a["balance"] for a in books["platform_accounts"]}
    assert platform["platform:revenue"] == "0.00" and platform["platform:telephony"] == "0.00"
    assert before_books["platform_accounts"] != books["platform_accounts"]
    summary = api.get("/analytics/dashboard", token=seller["token"]).data["summary"]
    assert summary["calls_paid"] == 0 and summary["spend"] == "0.00"

    again = api.put(f"/admin/disputes/{call_id}", {"decision": "rejected"}, token=admin["token"])
    assert again.status == 400 and again.error["code"] == "INVALID_STATE"  # decided once, reversed once
    assert balances(api, seller) == [("100.00", "0.00", "0.00")]


def test_a_rejected_dispute_moves_no_money(api, buyer, billed):
    seller, call_id = billed
    admin = api.admin()
    api.post(f"/calls/{call_id}/disputes", {"reason": "No such call"}, token=seller["token"])
    decided = api.put(f"/admin/disputes/{call_id}", {"decision": "rejected"}, token=admin["token"])
    assert decided.data["dispute"]["status"] == "rejected"
    assert balances(api, seller, buyer) == [("95.00", "0.00", "0.00"), ("10.00", "3.96", "0.00")]


def test_who_may_dispute_what_and_when(api, buyer, billed, clock):
    seller, call_id = billed
    stranger = api.register("seller")
    assert api.post(f"/calls/{call_id}/disputes", {"reason": "x"}, token=stranger["token"]).status == 404
    assert api.post(f"/calls/{call_id}/disputes", {"reason": "x"}, token=buyer["token"]).status == 403
    assert api.post(f"/calls/{call_id}/disputes", {"reason": "<b>"}, token=seller["token"]).status == 400
    later(api, clock, seller, days=8)
    late = api.post(f"/calls/{call_id}/disputes", {"reason": "x"}, token=seller["token"])
    assert late.status == 409 and late.error["code"] == "DISPUTE_WINDOW_CLOSED"


def test_a_call_is_disputed_once(api, buyer, billed):
    seller, call_id = billed
    assert api.post(f"/calls/{call_id}/disputes", {"reason": "x"}, token=seller["token"]).status == 201
    twice = api.post(f"/calls/{call_id}/disputes", {"reason": "y"}, token=seller["token"])
    assert twice.status == 409 and twice.error["code"] == "DISPUTE_EXISTS"


def test_a_call_nobody_paid_for_is_not_disputable(api, buyer):
    seller, _ = seller_with_profile(api, bid="5.00")
    call = new_call(api, buyer)
    api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    deliver(api, buyer, call["id"], seconds=10)  # too short to bill
    refused = api.post(f"/calls/{call['id']}/disputes", {"reason": "x"}, token=seller["token"])
    assert refused.status == 400 and refused.error["code"] == "NOT_DISPUTABLE"

"""What each role sees of the exchange: a seller's open auctions to bid in, and each role's dashboard, kept
by counters (issue 10 parts 6 and 8)."""
import pytest

from chalicelib.persistence.tables import CallModel
from tests.api.test_exchange import auction, bid, buyer, new_call, patch, profile  # noqa: F401 - buyer: a fixture

OHIO_CALLER = "+12165552671"  # Cleveland, OH


pytestmark = pytest.mark.usefixtures("afternoon_in_new_york")  # 13:00 in New York: calling hours


def funded_seller(api, **criteria):
    seller = api.register("seller")
    api.fund(seller)
    profile(api, seller, bid="3.00", **criteria)
    return seller


def deliver(api, buyer, call_id, seconds=60):
    """Ringing, answered, completed after `seconds`: the call's lifecycle as its buyer reports it."""
    for status in ("ringing", "in_progress"):
        assert patch(api, buyer, call_id, status).status == 200
    done = api.post(f"/calls/{call_id}/complete", {"duration": seconds}, token=buyer["token"])
    assert done.status == 200, done.body


def test_a_seller_lists_the_open_auctions_its_profiles_match(api, buyer, clock):
    in_california = funded_seller(api, states=("CA",))
    in_ohio = funded_seller(api, states=("OH",))
    insurance_only = funded_seller(api, call_type=["insurance"])
    california = auction(api, buyer, new_call(api, buyer, call_type="sales"), duration=60)
    ohio = auction(api, buyer, new_call(api, buyer, from_number=OHIO_CALLER), duration=30)

    def listed(user, query="?status=active"):
        result = api.get(f"/auctions{query}", token=user["token"])
        assert result.status == 200, result.body
        return [a["id"] for a in result.data], result

    assert listed(in_california)[0] == [california["id"]]
    shown = listed(in_california)[1].data[0]
    assert shown["status"] == "active" and shown["call_facts"]["state"] == "CA"
    assert "from_number" not in shown and "bids" not in shown or shown["bids"] is None
    assert listed(in_ohio)[0] == [ohio["id"]]
    # A call that states no call_type matches a profile that targets one; one that states "sales" does not.
    assert listed(insurance_only)[0] == [ohio["id"]]
    admin = api.admin()
    assert listed(admin, "")[0] == [ohio["id"], california["id"]]  # soonest ending first
    assert listed(admin, "?limit=1&page=2")[1].body["pagination"]["total"] == 2

    api.post(f"/auctions/{ohio['id']}/complete", token=buyer["token"])
    assert listed(in_ohio)[0] == []
    clock.advance(seconds=61)  # past its end, even before anyone closes it
    assert listed(in_california)[0] == []


def test_only_sellers_and_admins_list_auctions(api, buyer):
    assert api.get("/auctions", token=buyer["token"]).status == 403
    seller = funded_seller(api)
    assert api.get("/auctions?status=completed", token=seller["token"]).status == 400


def test_a_buyers_dashboard_counts_its_calls_and_earnings(api, buyer):
    seller = funded_seller(api)
    done = new_call(api, buyer)
    new_call(api, buyer)
    assert api.post(f"/calls/{done['id']}/route", token=buyer["token"]).status == 200
    deliver(api, buyer, done["id"])

    result = api.get("/analytics/dashboard", token=buyer["token"])
    assert result.data["role"] == "buyer"
    assert result.data["summary"] == {
        "total_numbers": 0, "active_numbers": 0, "orders": 0, "total_calls": 2, "completed_calls": 1,
        "spend": "0.00", "earnings": "2.38"}  # 3.00 less the 20 % take and one minute at 0.02
    assert api.get("/analytics/dashboard", token=seller["token"]).data["summary"]["calls_paid"] == 1


def test_a_sellers_dashboard_counts_wins_spend_and_average_price(api, buyer, clock):
    seller = funded_seller(api)
    clock.advance(seconds=1)  # the seller's profile is the older of two equal bids
    rival = funded_seller(api)
    won, lost = (auction(api, buyer, new_call(api, buyer)) for _ in range(2))
    assert bid(api, seller, won["id"], "4.00").status == 201
    assert bid(api, rival, won["id"], "3.50").status == 201
    assert bid(api, seller, lost["id"], "2.50").status == 201
    assert bid(api, rival, lost["id"], "5.00").status == 201
    for opened in (won, lost):
        api.post(f"/auctions/{opened['id']}/complete", token=buyer["token"])
    assert api.post(f"/calls/{won['call_id']}/route", token=buyer["token"]).status == 200
    deliver(api, buyer, won["call_id"], 90)
    # An instantly routed call at 3.00: the two profiles bid the same, and the older one (the seller's) wins.
    instant = new_call(api, buyer)
    api.post(f"/calls/{instant['id']}/route", token=buyer["token"])
    assert CallModel.get(instant["id"]).seller_id == seller["user"]["id"]
    deliver(api, buyer, instant["id"], 90)

    result = api.get("/analytics/dashboard", token=seller["token"])
    assert result.data["role"] == "seller"
    assert result.data["summary"] == {"calls_won": 2, "calls_paid": 2, "auctions_bid": 2, "auctions_won": 1,
                                      "win_rate": 0.5, "spend": "7.00", "average_price": "3.50"}

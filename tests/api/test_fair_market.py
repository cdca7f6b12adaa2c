"""Nobody can block or game the market (issue 11 part 4): routing and auctions pass over sellers who
cannot pay or may not act, a bid must be covered, and suspension takes a seller out at once."""
import pytest

from chalicelib.persistence import bid_shards
from chalicelib.persistence.tables import BidProfileModel, RouteEntryModel
from tests.api.test_exchange import auction, bid, buyer, new_call, profile  # noqa: F401 - buyer: a fixture


pytestmark = pytest.mark.usefixtures("afternoon_in_new_york")  # 13:00 in New York: calling hours


@pytest.fixture
def admin(api):
    return api.admin()


def seller_with(api, funds: str | None, bid_amount: str = "3.00"):
    seller = api.register("seller")
    if funds:
        api.fund(seller, funds)
    profile(api, seller, bid=bid_amount)
    return seller


def route(api, buyer, call_id):
    return api.post(f"/calls/{call_id}/route", token=buyer["token"])


def test_a_bid_its_seller_cannot_cover_is_402(api, buyer):
    seller = seller_with(api, "5.00")
    opened = auction(api, buyer, new_call(api, buyer))
    refused = bid(api, seller, opened["id"], "9999.00")
    assert refused.status == 402 and refused.error["code"] == "INSUFFICIENT_FUNDS"
    assert bid(api, seller, opened["id"], "5.00").status == 201  # all it has


def test_an_auction_whose_winner_can_no_longer_pay_falls_to_the_next_bid(api, buyer):
    seller, rival = seller_with(api, "10.00"), seller_with(api, "10.00")
    first, second = (auction(api, buyer, new_call(api, buyer)) for _ in range(2))
    for opened in (first, second):
        assert bid(api, seller, opened["id"], "8.00").status == 201
    assert bid(api, rival, second["id"], "4.00").status == 201
    for opened in (first, second):
        api.post(f"/auctions/{opened['id']}/complete", token=buyer["token"])

    assert route(api, buyer, first["call_id"]).data["seller_id"] == seller["user"]["id"]  # 8.00 held of 10.00
    fallen = route(api, buyer, second["call_id"])
    assert fallen.status == 200, fallen.body
    assert fallen.data["seller_id"] == rival["user"]["id"] and fallen.data["price"] == "4.00"


def test_an_auction_nobody_can_pay_for_leaves_the_call_pending_to_auction_again(api, buyer):
    seller = seller_with(api, "10.00")
    call = new_call(api, buyer)
    opened = auction(api, buyer, call)
    assert bid(api, seller, opened["id"], "10.00").status == 201
    api.post(f"/auctions/{opened['id']}/complete", token=buyer["token"])
    spent = new_call(api, buyer)  # the seller's money goes to another call first
    assert route(api, buyer, spent["id"]).data["seller_id"] == seller["user"]["id"]

    stuck = route(api, buyer, call["id"])
    assert stuck.status == 400 and stuck.error["code"] == "NO_BIDS_AVAILABLE"
    again = api.post("/auctions", {"call_id": call["id"], "reserve_price": "1.00", "duration": 30},
                     token=buyer["token"])
    assert again.status == 201, again.body
    open_one = api.post("/auctions", {"call_id": call["id"], "duration": 30}, token=buyer["token"])
    assert open_one.status == 409 and open_one.error["code"] == "AUCTION_EXISTS"  # while it is open


def test_a_suspended_seller_leaves_the_market_at_once_and_comes_back(api, buyer, admin, clock):
    bad = seller_with(api, "100.00", bid_amount="40.00")
    clock.advance(seconds=1)
    fair = seller_with(api, "100.00", bid_amount="3.00")
    opened = auction(api, buyer, new_call(api, buyer))
    assert bid(api, bad, opened["id"], "40.00").status == 201

    suspended = api.put(f"/admin/users/{bad['user']['id']}/suspend", {"reason": "fraud", "duration": 7},
                        token=admin["token"])
    assert suspended.status == 200
    assert bid_shards.read_bids_of(opened["id"]) == []  # its standing bid is withdrawn
    (paused,) = BidProfileModel.by_seller.query(bad["user"]["id"])
    assert paused.active is False and paused.paused is True
    assert not [e for e in RouteEntryModel.scan() if e.profile_id == paused.profile_id]

    routed = route(api, buyer, new_call(api, buyer)["id"])
    assert routed.data["seller_id"] == fair["user"]["id"]  # no 40.00 held from the suspended seller
    assert api.get(f"/admin/users/{bad['user']['id']}", token=admin["token"]).data["billing"]["held"] == "0.00"

    api.put(f"/admin/users/{bad['user']['id']}/reactivate", token=admin["token"])
    back = BidProfileModel.get(paused.profile_id)
    assert back.active is True and not back.paused
    assert route(api, buyer, new_call(api, buyer)["id"]).data["seller_id"] == bad["user"]["id"]


def test_a_profile_its_seller_switched_off_stays_off_after_a_suspension(api, buyer, admin):
    seller = api.register("seller")
    api.fund(seller)
    kept = profile(api, seller, bid="3.00")
    off = profile(api, seller, bid="4.00")
    api.call("PUT", f"/bid-profiles/{off['id']}", {"active": False}, token=seller["token"])
    api.put(f"/admin/users/{seller['user']['id']}", {"active": False}, token=admin["token"])
    api.put(f"/admin/users/{seller['user']['id']}", {"active": True}, token=admin["token"])
    assert BidProfileModel.get(kept["id"]).active is True
    assert BidProfileModel.get(off["id"]).active is False


def test_a_timed_suspension_ends_with_the_sellers_profiles_back(api, buyer, admin, clock):
    from chalicelib.services import admin as admin_service
    from tests.helpers import PASSWORD

    seller = seller_with(api, "100.00")
    api.put(f"/admin/users/{seller['user']['id']}/suspend", {"reason": "check", "duration": 1},
            token=admin["token"])
    clock.advance(days=2)
    assert admin_service.lift_expired_suspensions(clock()) == 1  # the scheduled job
    token = api.post("/auth/login", {"email": buyer["email"], "password": PASSWORD}).data["tokens"]["access_token"]
    call = api.post("/calls", {"from_number": "+14155552671", "to_number": "+12125552671"}, token=token).data
    routed = api.post(f"/calls/{call['id']}/route", token=token)
    assert routed.data["seller_id"] == seller["user"]["id"]


def test_reactivating_again_finishes_a_resumption_cut_short(api, buyer, admin, monkeypatch):
    from chalicelib.services import bid_profiles

    seller = seller_with(api, "100.00")
    api.put(f"/admin/users/{seller['user']['id']}/suspend", {"reason": "check"}, token=admin["token"])
    monkeypatch.setattr(bid_profiles, "resume_sellers_profiles", lambda seller_id: 0)  # the resumption is lost
    api.put(f"/admin/users/{seller['user']['id']}/reactivate", token=admin["token"])
    monkeypatch.undo()
    (profile,) = BidProfileModel.by_seller.query(seller["user"]["id"])
    assert profile.paused is True
    api.put(f"/admin/users/{seller['user']['id']}/reactivate", token=admin["token"])
    assert BidProfileModel.get(profile.profile_id).active is True

"""Bids write only their own item (the auction is condition-checked, never written), and closing decides
the winner from the bids after the closing write: a bid that lands before it counts, one after it is
refused, and a closer that stops between closing and deciding is finished by the next reader."""
import pytest

from chalicelib.persistence.tables import AuctionModel
from chalicelib.services import auctions
from tests.api.test_exchange import auction, bid, buyer, new_call, profile  # noqa: F401 - buyer is a fixture


pytestmark = pytest.mark.usefixtures("afternoon_in_new_york")  # 13:00 in New York: calling hours


@pytest.fixture
def sellers(api):
    users = [api.register("seller") for _ in range(3)]
    for user in users:
        api.fund(user)
        profile(api, user, bid="3.00")
    return users


def test_a_bid_does_not_write_the_auction(api, buyer, sellers):
    opened = auction(api, buyer, new_call(api, buyer))
    before = AuctionModel.get(opened["id"], consistent_read=True)
    assert bid(api, sellers[0], opened["id"], "2.50").status == 201
    assert bid(api, sellers[1], opened["id"], "2.60").status == 201
    after = AuctionModel.get(opened["id"], consistent_read=True)
    assert after.attribute_values == before.attribute_values  # untouched by the bids
    shown = api.get(f"/auctions/{opened['id']}", token=buyer["token"]).data
    assert shown["bid_count"] == 2 and len(shown["bids"]) == 2


def test_a_bid_between_the_closing_write_and_the_decision_is_refused(api, buyer, sellers, monkeypatch):
    opened = auction(api, buyer, new_call(api, buyer))
    assert bid(api, sellers[0], opened["id"], "2.50").status == 201
    late = {}
    decide = auctions._decide

    def a_bid_arrives_first(auction_item, now):
        late["result"] = bid(api, sellers[1], opened["id"], "9.00")  # after the closing write
        decide(auction_item, now)

    monkeypatch.setattr(auctions, "_decide", a_bid_arrives_first)
    closed = api.post(f"/auctions/{opened['id']}/complete", token=buyer["token"]).data
    assert late["result"].status == 409 and late["result"].error["code"] == "AUCTION_CLOSED"
    assert closed["winner"]["seller_id"] == sellers[0]["user"]["id"] and closed["bid_count"] == 1


def test_an_auction_closed_but_not_decided_is_decided_by_its_next_reader(api, buyer, sellers, monkeypatch):
    opened = auction(api, buyer, new_call(api, buyer))
    assert bid(api, sellers[2], opened["id"], "2.75").status == 201
    monkeypatch.setattr(auctions, "_decide", lambda auction_item, now: None)  # the closer stops in between
    api.post(f"/auctions/{opened['id']}/complete", token=buyer["token"])
    assert AuctionModel.get(opened["id"], consistent_read=True).decided_at is None
    monkeypatch.undo()
    shown = api.get(f"/auctions/{opened['id']}", token=sellers[2]["token"]).data  # the winner sees it won
    assert shown["status"] == "completed" and shown["winner"]["seller_id"] == sellers[2]["user"]["id"]
    assert AuctionModel.get(opened["id"], consistent_read=True).decided_at is not None

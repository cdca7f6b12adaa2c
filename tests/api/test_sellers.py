"""Sellers (issue 10, part 6): the calls routed to them, and their bids read and withdrawn."""
import pytest

from chalicelib.persistence import counters
from tests.api.test_exchange import (UNKNOWN, auction, bid, buyer, new_call,  # noqa: F401
                                     profile, seller)

pytestmark = pytest.mark.usefixtures("afternoon_in_new_york")  # 13:00 in New York: calling hours


def route(api, buyer, call):
    result = api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    assert result.status == 200, result.body
    return result.data


def routed_calls(api, buyer, clock, count):
    calls = []
    for _ in range(count):
        clock.advance(seconds=1)  # newest first needs distinct creation times
        calls.append(route(api, buyer, new_call(api, buyer)))
    return calls


def test_a_seller_lists_the_calls_routed_to_it_and_no_others(api, buyer, seller, clock):
    rival = api.register("seller")
    api.fund(rival)
    profile(api, seller, bid="5.00", states=["CA"])
    profile(api, rival, bid="4.00", states=["NY"])
    mine = routed_calls(api, buyer, clock, 3)
    theirs = route(api, buyer, new_call(api, buyer, from_number="+12125559876"))  # New York
    unrouted = new_call(api, buyer)
    assert {c["seller_id"] for c in mine} == {seller["user"]["id"]} and theirs["seller_id"] == rival["user"]["id"]

    listed = api.get("/calls", token=seller["token"])
    assert listed.status == 200
    assert [c["id"] for c in listed.data] == [c["id"] for c in reversed(mine)]  # newest first
    assert listed.body["pagination"]["total"] == 3
    assert unrouted["id"] not in [c["id"] for c in listed.data]
    other = api.get("/calls", token=rival["token"])
    assert [c["id"] for c in other.data] == [theirs["id"]] and other.body["pagination"]["total"] == 1
    # The buyer still lists its own calls.
    assert api.get("/calls", token=buyer["token"]).body["pagination"]["total"] == 5

    first = api.get("/calls?limit=2", token=seller["token"])
    assert len(first.data) == 2 and first.body["pagination"]["total_pages"] == 2
    rest = api.get("/calls?limit=2&next_token=" + first.body["pagination"]["next_token"],
                   token=seller["token"])
    assert [c["id"] for c in first.data + rest.data] == [c["id"] for c in reversed(mine)]


def test_a_sellers_status_filter_reads_its_index(api, buyer, seller, clock):
    profile(api, seller)
    calls = routed_calls(api, buyer, clock, 2)
    assert api.call("PATCH", f"/calls/{calls[0]['id']}/status", {"status": "ringing"},
                    token=buyer["token"]).status == 200
    ringing = api.get("/calls?status=ringing", token=seller["token"])
    assert [c["id"] for c in ringing.data] == [calls[0]["id"]] and ringing.body["pagination"]["total"] == 1
    assert [c["id"] for c in api.get("/calls?status=queued", token=seller["token"]).data] == \
        [calls[1]["id"]]


def test_a_seller_reads_its_own_bid_and_others_do_not(api, buyer, seller):
    profile(api, seller)
    created = auction(api, buyer, new_call(api, buyer))
    placed = bid(api, seller, created["id"], "3.00").data
    shown = api.get(f"/bids/{placed['id']}", token=seller["token"])
    assert shown.status == 200 and shown.data == placed
    rival = api.register("seller")
    assert api.get(f"/bids/{placed['id']}", token=rival["token"]).status == 404
    assert api.get(f"/bids/{placed['id']}", token=buyer["token"]).status == 403
    admin = api.admin()
    assert api.get(f"/bids/{placed['id']}", token=admin["token"]).data["id"] == placed["id"]
    assert api.get(f"/bids/{UNKNOWN}", token=seller["token"]).status == 404
    # A higher re-bid replaces the standing bid: the old id is gone.
    again = bid(api, seller, created["id"], "4.00").data
    assert api.get(f"/bids/{placed['id']}", token=seller["token"]).status == 404
    assert api.get(f"/bids/{again['id']}", token=seller["token"]).data["amount"] == "4.00"


def test_a_withdrawn_bid_does_not_count_when_the_auction_closes(api, buyer, seller):
    rival = api.register("seller")
    api.fund(rival)
    profile(api, seller)
    profile(api, rival)
    created = auction(api, buyer, new_call(api, buyer))
    high = bid(api, seller, created["id"], "4.00").data
    low = bid(api, rival, created["id"], "3.00").data
    assert api.get("/bids", token=seller["token"]).body["pagination"]["total"] == 1
    assert api.call("DELETE", f"/bids/{high['id']}", token=rival["token"]).status == 404  # not its bid
    withdrawn = api.call("DELETE", f"/bids/{high['id']}", token=seller["token"])
    assert withdrawn.status == 204
    assert api.get(f"/bids/{high['id']}", token=seller["token"]).status == 404
    assert api.call("DELETE", f"/bids/{high['id']}", token=seller["token"]).status == 404
    assert api.get("/bids", token=seller["token"]).body["pagination"]["total"] == 0
    assert counters.value(counters.bids(seller["user"]["id"])) == 0
    closed = api.post(f"/auctions/{created['id']}/complete", token=buyer["token"]).data
    assert closed["winner"]["seller_id"] == rival["user"]["id"] and closed["winner"]["amount"] == "3.00"
    assert [b["id"] for b in closed["bids"]] == [low["id"]]
    late = api.call("DELETE", f"/bids/{low['id']}", token=rival["token"])
    assert late.status == 409 and late.error["code"] == "AUCTION_CLOSED"
    assert api.get(f"/bids/{low['id']}", token=rival["token"]).status == 200


def test_a_bid_cannot_be_withdrawn_once_the_auction_has_ended(api, buyer, seller, clock):
    profile(api, seller)
    created = auction(api, buyer, new_call(api, buyer), duration=30)
    placed = bid(api, seller, created["id"], "3.00").data
    clock.advance(seconds=31)  # over, not yet swept
    late = api.call("DELETE", f"/bids/{placed['id']}", token=seller["token"])
    assert late.status == 409 and late.error["code"] == "AUCTION_CLOSED"

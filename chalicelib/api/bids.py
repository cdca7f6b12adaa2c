"""Bids in open auctions."""
from chalicelib.api.http import SELLERS, SELLERS_ONLY, Api, Call, Reply
from chalicelib.schemas import models
from chalicelib.services import bids

schemas = models("exchange", "common")  # imported on first use, not at cold start

api = Api(__name__, tag="exchange")


@api.route("/bids", "POST", summary="Bid in an open auction", roles=SELLERS_ONLY, body=schemas.PlaceBid,
           response=schemas.BidOut, status=201, errors=(402, 404, 409))
def place_bid(call: Call):
    return bids.place_bid(call.principal, call.body.auction_id, call.body.amount)


@api.route("/bids", "GET", summary="The caller's bids, newest first", roles=SELLERS_ONLY, query=schemas.PageQuery,
           response=schemas.BidOut, paginated=True)
def list_bids(call: Call):
    q = call.query
    return bids.list_bids(call.principal, q.page, q.limit, q.next_token)


@api.route("/bids/{bid_id}", "GET", summary="A bid (its seller or an admin)", roles=SELLERS, response=schemas.BidOut,
           errors=(404,))
def get_bid(call: Call, bid_id: str):
    return bids.get_bid(call.principal, bid_id)


@api.route("/bids/{bid_id}", "DELETE", summary="Withdraw a standing bid before its auction closes",
           roles=SELLERS_ONLY, status=204, errors=(404, 409))
def withdraw_bid(call: Call, bid_id: str):
    bids.withdraw_bid(call.principal, bid_id)
    return Reply(status=204)

"""Bids in open auctions."""
from chalicelib.http import SELLERS_ONLY, Api, Call
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.exchange import BidOut, PlaceBid
from chalicelib.services import bids

api = Api(__name__, tag="exchange")


@api.route("/bids", "POST", summary="Bid in an open auction", roles=SELLERS_ONLY, body=PlaceBid, response=BidOut,
           status=201, errors=(404, 409))
def place_bid(call: Call):
    return bids.place_bid(call.principal, call.body.auction_id, call.body.amount)


@api.route("/bids", "GET", summary="The caller's bids, newest first", roles=SELLERS_ONLY, query=PageQuery,
           response=BidOut, paginated=True)
def list_bids(call: Call):
    q = call.query
    return bids.list_bids(call.principal, q.page, q.limit, q.next_token)

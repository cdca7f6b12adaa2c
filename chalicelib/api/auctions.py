"""Auctions of pending calls."""
from chalicelib.api.http import BUYERS, SELLERS, Api, Call
from chalicelib.schemas import models
from chalicelib.services import auctions

schemas = models("exchange")  # imported on first use, not at cold start

api = Api(__name__, tag="exchange")


@api.route("/auctions", "POST", summary="Auction a pending call", roles=BUYERS, body=schemas.CreateAuction,
           response=schemas.AuctionOut, status=201, errors=(404, 409))
def create_auction(call: Call):
    b = call.body
    auction = auctions.create_auction(call.principal, b.call_id, b.reserve_price, b.duration)
    return auctions.view(call.principal, auction, bids=[])


@api.route("/auctions", "GET", summary="Open auctions your active bid profiles match, soonest ending first (an "
           "admin: every open auction)", roles=SELLERS, query=schemas.AuctionListQuery, response=schemas.AuctionOut,
           paginated=True)
def list_auctions(call: Call):
    q = call.query
    return auctions.open_auctions(call.principal, q.page, q.limit)


@api.route("/auctions/{auction_id}", "GET", summary="An auction (with its bids, for its owner)",
           response=schemas.AuctionOut, errors=(404,))
def get_auction(call: Call, auction_id: str):
    return auctions.auction_view(call.principal, auction_id)


@api.route("/auctions/{auction_id}/complete", "POST", summary="Close an auction now", roles=BUYERS,
           response=schemas.AuctionOut, errors=(404,))
def complete_auction(call: Call, auction_id: str):
    return auctions.complete_auction(call.principal, auction_id)

"""Calls, bid profiles, auctions and bids."""
from chalicelib.http import Api, Call, Reply
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.exchange import (
    AuctionOut,
    BidOut,
    BidProfileOut,
    BidProfileRequest,
    BidProfileUpdate,
    CallListQuery,
    CallOut,
    CallStatusUpdate,
    CompleteCall,
    CreateAuction,
    CreateCall,
    PlaceBid,
)
from chalicelib.services import exchange

api = Api(__name__, tag="exchange")
BUYERS, SELLERS = ("buyer", "admin"), ("seller", "admin")


@api.route("/calls", "POST", summary="Create a call (compliance checked)", roles=BUYERS, body=CreateCall,
           response=CallOut, status=201)
def create_call(call: Call):
    return exchange.create_call(call.principal, call.body.model_dump())


@api.route("/calls", "GET", summary="The caller's calls, newest first", roles=BUYERS, query=CallListQuery,
           response=CallOut, paginated=True)
def list_calls(call: Call):
    q = call.query
    return exchange.list_calls(call.principal, q.status, q.page, q.limit, q.next_token)


@api.route("/calls/{call_id}", "GET", summary="A call (its buyer, its seller or an admin)", response=CallOut,
           errors=(404,))
def get_call(call: Call, call_id: str):
    return exchange.get_call(call.principal, call_id)


@api.route("/calls/{call_id}/route", "POST", summary="Route to the auction winner or the best bid profile",
           roles=BUYERS, response=CallOut, errors=(402, 404, 409))
def route_call(call: Call, call_id: str):
    return exchange.route_call(call.principal, call_id)


@api.route("/calls/{call_id}/status", "PATCH", summary="Move a call along its lifecycle", roles=BUYERS,
           body=CallStatusUpdate, response=CallOut, errors=(404,))
def change_status(call: Call, call_id: str):
    return exchange.change_status(call.principal, call_id, call.body.status)


@api.route("/calls/{call_id}/complete", "POST", summary="Complete a call and bill it (once)", roles=BUYERS,
           body=CompleteCall, response=CallOut, errors=(404,))
def complete_call(call: Call, call_id: str):
    return exchange.complete_call(call.principal, call_id, call.body.duration)


@api.route("/bid-profiles", "POST", summary="Create a bid profile", roles=SELLERS, body=BidProfileRequest,
           response=BidProfileOut, status=201)
def create_profile(call: Call):
    return exchange.create_profile(call.principal, call.body.model_dump())


@api.route("/bid-profiles", "GET", summary="The caller's bid profiles", roles=SELLERS, query=PageQuery,
           response=BidProfileOut, paginated=True)
def list_profiles(call: Call):
    q = call.query
    return exchange.list_profiles(call.principal, q.page, q.limit, q.next_token)


@api.route("/bid-profiles/{profile_id}", "GET", summary="A bid profile", roles=SELLERS, response=BidProfileOut,
           errors=(404,))
def get_profile(call: Call, profile_id: str):
    return exchange.get_profile(call.principal, profile_id)


@api.route("/bid-profiles/{profile_id}", "PUT", summary="Change a bid profile", roles=SELLERS,
           body=BidProfileUpdate, response=BidProfileOut, errors=(404,))
def update_profile(call: Call, profile_id: str):
    return exchange.update_profile(call.principal, profile_id, call.body.model_dump(exclude_unset=True))


@api.route("/bid-profiles/{profile_id}", "DELETE", summary="Delete a bid profile", roles=SELLERS, status=204,
           errors=(404,))
def delete_profile(call: Call, profile_id: str):
    exchange.delete_profile(call.principal, profile_id)
    return Reply(status=204)


@api.route("/auctions", "POST", summary="Auction a pending call", roles=BUYERS, body=CreateAuction,
           response=AuctionOut, status=201, errors=(404, 409))
def create_auction(call: Call):
    b = call.body
    auction = exchange.create_auction(call.principal, b.call_id, b.reserve_price, b.duration)
    return exchange.auction_view(call.principal, auction.auction_id)


@api.route("/auctions/{auction_id}", "GET", summary="An auction (with its bids, for its owner)",
           response=AuctionOut, errors=(404,))
def get_auction(call: Call, auction_id: str):
    return exchange.auction_view(call.principal, auction_id)


@api.route("/auctions/{auction_id}/complete", "POST", summary="Close an auction now", roles=BUYERS,
           response=AuctionOut, errors=(404,))
def complete_auction(call: Call, auction_id: str):
    return exchange.complete_auction(call.principal, auction_id)


@api.route("/bids", "POST", summary="Bid in an open auction", roles=("seller",), body=PlaceBid, response=BidOut,
           status=201, errors=(404, 409))
def place_bid(call: Call):
    return exchange.place_bid(call.principal, call.body.auction_id, call.body.amount)


@api.route("/bids", "GET", summary="The caller's bids, newest first", roles=("seller",), query=PageQuery,
           response=BidOut, paginated=True)
def list_bids(call: Call):
    q = call.query
    return exchange.list_bids(call.principal, q.page, q.limit, q.next_token)

"""Auctions of a pending call: opened by its buyer, closed exactly once at their end (or earlier by
the buyer), with the winner among every bid placed."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.domain import calls as lifecycle
from chalicelib.domain import routing
from chalicelib.domain.auctions import CLOSED, OPEN, close_delay
from chalicelib.domain.errors import Conflict, InvalidState, NotFound
from chalicelib.domain.money import to_minor
from chalicelib.gateways import queues
from chalicelib.persistence.db import failed_items, transact_write
from chalicelib.persistence.models import AuctionModel, BidModel, CallModel
from chalicelib.services import calls
from chalicelib.services.access import fetch, owned


def not_found() -> NotFound:
    return NotFound("Auction not found", code="AUCTION_NOT_FOUND")


def create_auction(principal: Principal, call_id: str, reserve_price, duration: int) -> AuctionModel:
    call = calls.buyers_call(principal, call_id)
    if call.status != lifecycle.PENDING:
        raise InvalidState("Only a pending call can be auctioned")
    now = clock.now()
    auction = AuctionModel(
        auction_id=str(uuid.uuid4()), call_id=call.call_id, owner_id=call.owner_id,
        reserve_price=to_minor(reserve_price), status=OPEN, open_key="OPEN",
        ends_at=now + timedelta(seconds=duration), created_at=now)
    try:
        with transact_write() as tx:
            tx.save(auction, condition=AuctionModel.auction_id.does_not_exist())
            tx.update(call, actions=[CallModel.auction_id.set(auction.auction_id)],
                      condition=(CallModel.status == lifecycle.PENDING) & CallModel.auction_id.does_not_exist())
    except TransactWriteError as error:
        if failed_items(error):
            raise Conflict("The call already has an auction", code="AUCTION_EXISTS") from None
        raise
    # Closes it at its end time; the sweeper catches any message that is lost.
    queues.send(queues.AUCTION_CLOSING, {"auction_id": auction.auction_id}, delay_seconds=duration)
    return auction


def get_auction(auction_id: str) -> AuctionModel:
    return fetch(AuctionModel, auction_id, not_found())


def auction_view(principal: Principal, auction_id: str) -> dict:
    """Anyone may see an auction (sellers need to, to bid); only its owner sees the bids."""
    auction = get_auction(auction_id)
    view = {name: getattr(auction, name) for name in auction.get_attributes()}
    if auction.owner_id == principal.user_id or principal.is_admin:
        view["bids"] = list(BidModel.query(auction_id, consistent_read=True))
    return view


def complete_auction(principal: Principal, auction_id: str) -> dict:
    """The buyer closes early."""
    auction = owned(get_auction(auction_id), "owner_id", principal, not_found())
    close_auction(auction.auction_id, clock.now())
    return auction_view(principal, auction_id)


def close_auction(auction_id: str, now: datetime) -> AuctionModel:
    """Close exactly once, with the winner among every bid placed: the closing write is conditional
    on the auction being open and on its bid counter being what it was before we read the bids, so a
    bid that lands meanwhile makes us read again, and a second closer (message, sweeper, buyer)
    finds it closed."""
    while True:
        auction = AuctionModel.get(auction_id, consistent_read=True)
        if auction.status == CLOSED:
            return auction
        bids = list(BidModel.query(auction_id, consistent_read=True))
        best = routing.auction_winner([routing.StandingBid(b.seller_id, b.profile_id, int(b.amount), b.placed_at)
                                       for b in bids], int(auction.reserve_price))
        winner = {"seller_id": best.seller_id, "profile_id": best.profile_id, "amount": best.amount,
                  "placed_at": best.placed_at.isoformat()} if best else None
        try:
            auction.update(actions=[
                AuctionModel.status.set(CLOSED), AuctionModel.open_key.remove(), AuctionModel.closed_at.set(now),
                AuctionModel.winner.set(winner) if winner else AuctionModel.winner.remove(),
            ], condition=(AuctionModel.status == OPEN) & (AuctionModel.bid_count == auction.bid_count))
            return auction
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise  # otherwise: closed by someone else, or a new bid arrived: look again


def close_if_due(auction_id: str, now: datetime) -> bool:
    """The delayed SQS message: close at the end time (a message that comes early is sent again)."""
    auction = AuctionModel.get(auction_id, consistent_read=True)
    if auction.status == CLOSED:
        return False
    if auction.ends_at > now:
        queues.send(queues.AUCTION_CLOSING, {"auction_id": auction_id}, delay_seconds=close_delay(auction.ends_at, now))
        return False
    close_auction(auction_id, now)
    return True


def sweep_auctions(now: datetime) -> int:
    """Scheduled: close every open auction past its end whose message was lost."""
    due = [a.auction_id for a in AuctionModel.open_auctions.query("OPEN", AuctionModel.ends_at <= now)]
    for auction_id in due:
        close_auction(auction_id, now)
    return len(due)

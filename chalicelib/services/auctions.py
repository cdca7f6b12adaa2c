"""Auctions of a pending call: opened by its buyer, closed exactly once at their end (or earlier by
the buyer), with the winner among every bid placed."""
from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.domain import calls as lifecycle
from chalicelib.domain import events, routing
from chalicelib.domain.auctions import CLOSED, OPEN, close_delay
from chalicelib.domain.errors import Conflict, InvalidState, NotFound
from chalicelib.domain.money import to_minor
from chalicelib.gateways import queues
from chalicelib.persistence import seller_books
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.persistence.tables import AuctionModel, BidModel, CallModel
from chalicelib.persistence.pagination import Page
from chalicelib.services import analytics, bid_profiles, calls
from chalicelib.services.access import fetch, owned


OPEN_KEY = "OPEN"  # the open_key of every open auction (the sparse open_by_end index)


def not_found() -> NotFound:
    return NotFound("Auction not found", code="AUCTION_NOT_FOUND")


def create_auction(principal: Principal, call_id: str, reserve_price, duration: int) -> AuctionModel:
    """A pending call's auction. A call whose last auction closed without a seller able to take it (the
    call is still pending) may be auctioned again: the new auction replaces the closed one."""
    call = calls.buyers_call(principal, call_id)
    if call.status != lifecycle.PENDING:
        raise InvalidState("Only a pending call can be auctioned")
    now = clock.now()
    if call.auction_id is None:
        unchanged = CallModel.auction_id.does_not_exist()
    elif get_auction(call.auction_id).status == CLOSED:
        unchanged = CallModel.auction_id == call.auction_id
    else:
        raise Conflict("The call already has an auction", code="AUCTION_EXISTS")
    auction = AuctionModel(
        auction_id=str(uuid.uuid4()), call_id=call.call_id, owner_id=call.owner_id,
        reserve_price=to_minor(reserve_price), call_facts=asdict(calls.facts(call)), status=OPEN, open_key=OPEN_KEY,
        ends_at=now + timedelta(seconds=duration), created_at=now)
    try:
        with UnitOfWork() as work:
            work.save(auction, condition=AuctionModel.auction_id.does_not_exist())
            work.update(call, actions=[CallModel.auction_id.set(auction.auction_id)],
                        condition=(CallModel.status == lifecycle.PENDING) & unchanged)
            # Closes it at its end time; the sweeper catches any message that is lost.
            work.send(queues.AUCTION_CLOSING, {"auction_id": auction.auction_id}, delay_seconds=duration)
            work.emit(events.auction_started(auction))
    except TransactWriteError as error:
        if failed_items(error):
            raise Conflict("The call already has an auction", code="AUCTION_EXISTS") from None
        raise
    return auction


def get_auction(auction_id: str) -> AuctionModel:
    return fetch(AuctionModel, auction_id, not_found())


def auction_view(principal: Principal, auction_id: str) -> dict:
    """Anyone may see an auction (sellers need to, to bid); only its owner sees the bids."""
    auction, bids = get_auction(auction_id), None
    if auction.status == CLOSED and auction.decided_at is None:
        auction, bids = _close(auction, clock.now())
    return view(principal, auction, bids)


def view(principal: Principal, auction: AuctionModel, bids: list[BidModel] | None = None) -> dict:
    """The auction as its reader may see it: its buyer and admins see the bids and the winner; the winning
    seller sees that it won; nobody else learns who bid or who won. `bids`, when already read, are not
    read again."""
    shown = {name: getattr(auction, name) for name in auction.get_attributes()}
    insider = auction.owner_id == principal.user_id or principal.is_admin
    if not insider and (auction.winner or {}).get("seller_id") != principal.user_id:
        shown["winner"] = None
    if insider:
        shown["bids"] = bids if bids is not None else list(BidModel.query(auction.auction_id, consistent_read=True))
        if auction.status == OPEN:
            shown["bid_count"] = len(shown["bids"])  # counted when it closes; until then, from the bids
    return shown


def open_auctions(principal: Principal, page: int, limit: int) -> Page:
    """The open auctions a seller could bid in (those offered to its active profiles: matching, open now,
    not blocking the caller; an admin sees all),
    soonest ending first. One read of the seller's book and one query of the open-auctions index: no
    scan, and auctions last seconds to minutes, so few are open at once. Pages are by number."""
    now = clock.now()
    book = seller_books.read(principal.user_id)
    profiles = seller_books.with_blocked_callers(seller_books.profiles_of(book))
    listed = [a for a in AuctionModel.open_auctions.query(OPEN_KEY, AuctionModel.ends_at > now)
              if principal.is_admin or bid_profiles.offered(profiles, facts_of(a), now)]
    start = (page - 1) * limit
    return Page(listed[start:start + limit], page, limit, len(listed), None)


def facts_of(auction: AuctionModel) -> routing.CallFacts:
    """What the auctioned call states (auctions carry a copy, for matching bidders)."""
    if auction.call_facts is None:  # opened before auctions carried their call's facts
        return calls.facts(CallModel.get(auction.call_id))
    facts = auction.call_facts
    return routing.CallFacts(facts["country"], facts["state"], facts["call_type"], tuple(facts["keywords"]),
                             verified=facts.get("verified", False), caller=facts.get("caller"))


def complete_auction(principal: Principal, auction_id: str) -> dict:
    """The buyer closes early."""
    auction = owned(get_auction(auction_id), "owner_id", principal, not_found())
    return view(principal, *_close(auction, clock.now()))


def close_auction(auction_id: str, now: datetime) -> AuctionModel:
    """Close exactly once, then decide the winner among every bid placed. A bid is written only while a
    condition check finds the auction open, so once the closing write lands no bid can join: the bids
    read after it (consistently) are all there will be, and every closer (message, sweeper, buyer)
    decides the same winner. The decision is recorded once; a reader that finds an auction closed but
    undecided (its closer stopped in between) finishes it."""
    return _close(AuctionModel.get(auction_id, consistent_read=True), now)[0]


def _close(auction: AuctionModel, now: datetime) -> tuple[AuctionModel, list[BidModel] | None]:
    """The auction closed and decided, and the bids if they were read to decide it."""
    if auction.status == OPEN:
        try:
            auction.update(actions=[AuctionModel.status.set(CLOSED), AuctionModel.open_key.remove(),
                                    AuctionModel.closed_at.set(now)], condition=AuctionModel.status == OPEN)
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            auction.refresh(consistent_read=True)  # closed by someone else meanwhile
    if auction.decided_at is not None:
        return auction, None
    return auction, _decide(auction, now)


def _decide(auction: AuctionModel, now: datetime) -> list[BidModel]:
    bids = list(BidModel.query(auction.auction_id, consistent_read=True))
    best = routing.auction_winner([routing.StandingBid(b.seller_id, b.profile_id, int(b.amount), b.placed_at)
                                   for b in bids], int(auction.reserve_price))
    bid_ids = {b.seller_id: b.bid_id for b in bids}  # one standing bid per seller
    winner = {"bid_id": bid_ids[best.seller_id], "seller_id": best.seller_id, "profile_id": best.profile_id,
              "amount": best.amount, "placed_at": best.placed_at.isoformat()} if best else None
    decided = {"winner": winner, "bid_count": len(bids), "decided_at": now}
    try:
        with UnitOfWork() as work:
            work.update(auction, actions=[
                AuctionModel.winner.set(winner) if winner else AuctionModel.winner.remove(),
                AuctionModel.bid_count.set(len(bids)), AuctionModel.decided_at.set(now),
            ], condition=AuctionModel.decided_at.does_not_exist())
            if winner:
                analytics.count_auction_won(work, best.seller_id)
            # By the closer that decided it, once.
            work.emit(*events.auction_decided(auction, decided, [b.seller_id for b in bids]))
            work.assign(auction, decided)
    except TransactWriteError as error:
        if auction not in failed_items(error):
            raise
        auction.refresh(consistent_read=True)  # decided by another closer, the same way
    return bids


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
    due = [a.auction_id for a in AuctionModel.open_auctions.query(OPEN_KEY, AuctionModel.ends_at <= now)]
    for auction_id in due:
        close_auction(auction_id, now)
    return len(due)

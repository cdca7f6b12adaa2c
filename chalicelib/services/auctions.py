"""Auctions of a pending call: opened by its buyer, closed exactly once at their end (or earlier by
the buyer), with the winner among every bid placed."""
from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.domain import calls as lifecycle
from chalicelib.domain import events, routing
from chalicelib.domain.auctions import CLOSED, OPEN, close_delay
from chalicelib.domain.errors import Conflict, InvalidState, NotFound
from chalicelib.domain.money import to_minor
from chalicelib.gateways import queues
from chalicelib.config import get_settings
from chalicelib.persistence import bid_shards, seller_books
from chalicelib.persistence.base import shard_key, shard_keys
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.persistence.tables import AuctionModel, BidModel, CallModel
from chalicelib.persistence.pagination import Page
from chalicelib.services import analytics, bid_profiles, calls
from chalicelib.services.access import fetch, owned


OPEN_KEY = "OPEN"  # the open_key prefix of an open auction (the sparse open_by_end index, in shards by id)


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
    auction_id, facts = str(uuid.uuid4()), calls.facts(call)
    auction = AuctionModel(
        auction_id=auction_id, call_id=call.call_id, owner_id=call.owner_id,
        reserve_price=to_minor(reserve_price), call_facts=asdict(facts), status=OPEN,
        open_key=shard_key(OPEN_KEY, auction_id), bid_shards=get_settings().bid_shards,
        ends_at=now + timedelta(seconds=duration), created_at=now)
    try:
        with UnitOfWork() as work:
            work.save(auction, condition=AuctionModel.auction_id.does_not_exist())
            for entry in bid_shards.open_entries(auction, facts):  # where sellers' profiles find it
                work.save(entry)
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
        shown["bids"] = bids if bids is not None else bid_shards.read_bids(auction)
        if auction.status == OPEN:
            shown["bid_count"] = len(shown["bids"])  # counted when it closes; until then, from the bids
    return shown


def open_auctions(principal: Principal, page: int, limit: int) -> Page:
    """The open auctions a seller could bid in (those offered to its active profiles: matching, open now,
    not blocking the caller; an admin sees all), soonest ending first. Found as instant routing finds
    profiles: one read of the seller's book, then the open-auction entries under the route keys its
    profiles are under (every shard of each, at once), never a list of every open auction; then the page's
    auctions in one batch read. Auctions last seconds to minutes, so few are open at once. Pages are by
    number."""
    now = clock.now()
    book = seller_books.read(principal.user_id)
    profiles = seller_books.with_blocked_callers(seller_books.profiles_of(book))
    entries = bid_shards.open_auctions_for(profiles, now, everything=principal.is_admin)
    listed = [e.auction_id for e in entries if principal.is_admin or bid_profiles.offered(profiles, facts_from(e.call_facts), now)]
    start = (page - 1) * limit
    shown = {a.auction_id: a for a in AuctionModel.batch_get(listed[start:start + limit])} if listed[start:start + limit] else {}
    items = [shown[auction_id] for auction_id in listed[start:start + limit] if auction_id in shown]
    return Page(items, page, limit, len(listed), None)


def facts_of(auction: AuctionModel) -> routing.CallFacts:
    """What the auctioned call states (auctions carry a copy, for matching bidders)."""
    if auction.call_facts is None:  # opened before auctions carried their call's facts
        return calls.facts(CallModel.get(auction.call_id))
    return facts_from(auction.call_facts)


def facts_from(facts: dict) -> routing.CallFacts:
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
        # Closed with every bid shard's gate, and its open-auction entries gone, in one transaction: once
        # it commits no bid can join, so the bids read after it are all there are.
        try:
            with UnitOfWork() as work:
                work.update(auction, actions=[AuctionModel.status.set(CLOSED), AuctionModel.open_key.remove(),
                                              AuctionModel.closed_at.set(now)], condition=AuctionModel.status == OPEN)
                bid_shards.close_gates(work, auction, now)
                for entry in bid_shards.open_entries(auction, facts_of(auction)):
                    work.delete(entry)
                work.assign(auction, {"status": CLOSED, "open_key": None, "closed_at": now})
        except TransactWriteError as error:
            if auction not in failed_items(error):
                raise
            auction.refresh(consistent_read=True)  # closed by someone else meanwhile
    if auction.decided_at is not None:
        return auction, None
    return auction, _decide(auction, now)


def _decide(auction: AuctionModel, now: datetime) -> list[BidModel]:
    bids = bid_shards.read_bids(auction)
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
    due = [a.auction_id for shard in shard_keys(OPEN_KEY)
           for a in AuctionModel.open_auctions.query(shard, AuctionModel.ends_at <= now)]
    for auction_id in due:
        close_auction(auction_id, now)
    return len(due)

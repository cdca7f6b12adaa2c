"""Sellers' bids: one standing bid per seller and auction, which only a higher re-bid replaces."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactGet

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.domain import events, terms
from chalicelib.domain.auctions import MAX_DURATION_SECONDS, OPEN
from chalicelib.domain.errors import Conflict, NotFound, PaymentRequired, ValidationFailed
from chalicelib.domain.money import to_minor
from chalicelib.persistence import bid_shards, counters, seller_books
from chalicelib.persistence.db import connection
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.persistence.tables import AccountModel, AuctionModel, BidGateModel, BidModel, SellerBookModel
from chalicelib.persistence.pagination import Page, paginate
from chalicelib.services import auctions, bid_profiles


def place_bid(principal: Principal, auction_id: str, amount) -> BidModel:
    """One read (the auction, with its call's facts, and the seller's book of profiles) and one
    conditional transaction: the auction is still open and this seller's standing bid, if any, is lower."""
    now = clock.now()
    auction, book, spendable = _auction_book_and_funds(auction_id, principal.user_id)
    if auction.status != OPEN or auction.ends_at <= now:
        raise Conflict("The auction is closed", code="AUCTION_CLOSED")
    minor = to_minor(amount)
    if minor < int(auction.reserve_price):
        raise ValidationFailed("Bid is below the reserve price", code="BID_TOO_LOW")
    facts = auctions.facts_of(auction)
    # A profile that blocks the caller is never offered the call: to it, the call matches nothing.
    matching = seller_books.with_blocked_callers(bid_profiles.matching(seller_books.profiles_of(book), facts))
    matching = [p for p in matching if not terms.blocks((p.terms or {}).get("blocked_callers"), facts.caller)]
    if not matching:
        raise ValidationFailed("You have no active bid profile matching this call", code="NO_MATCHING_PROFILE")
    matching = bid_profiles.offered(matching, facts, now)  # open now
    if not matching:
        raise Conflict("Your bid profiles matching this call are closed now (their schedule)", code="PROFILE_CLOSED")
    if minor > spendable:  # checked again when the winner's price is held, and passed over then if short
        raise PaymentRequired("Your balance and credit limit cannot cover this bid", code="INSUFFICIENT_FUNDS")
    within = [p for p in matching if bid_profiles.budget_of(p) is None or minor <= bid_profiles.budget_of(p)]
    if not within:
        raise ValidationFailed("Bid exceeds your profile's max_budget", code="BUDGET_EXCEEDED")
    # The bid is on the matching profile that bids most (one without a bid_amount, auctions only, last).
    profile = max(within, key=lambda p: -1 if p.bid_amount is None else int(p.bid_amount))
    bid = BidModel(auction_shard=bid_shards.bid_key(auction, principal.user_id), auction_id=auction_id,
                   seller_id=principal.user_id, bid_id=str(uuid.uuid4()), profile_id=profile.profile_id, amount=minor,
                   placed_at=now)
    # A bid writes only its own item, in its shard of the auction, and checks only that shard's gate (its
    # end time was checked above, and never changes): bids of one auction share no item and no partition.
    # The seller's first bid in this auction counts in their bid list; a re-bid replaces it. Most bids are
    # first bids, so that is tried first; a standing bid makes it a re-bid, tried once more.
    gate, gate_key, gate_open = bid_shards.gate_open(auction, principal.user_id)
    for first_bid in (True, False):
        try:
            with UnitOfWork() as work:
                still_open = work.condition_check(gate, gate_key, condition=gate_open)
                if first_bid:
                    work.save(bid, condition=BidModel.seller_id.does_not_exist())
                    counters.add(work, counters.bids(principal.user_id))
                else:
                    work.save(bid, condition=BidModel.seller_id.exists() & (BidModel.amount < minor))
                work.emit(*events.bid_placed(auction, bid))
            return bid
        except TransactWriteError as error:
            failed = failed_items(error)
            if still_open in failed:
                raise Conflict("The auction is closed", code="AUCTION_CLOSED") from None
            if bid not in failed:
                raise
    raise ValidationFailed("A re-bid must be higher than your standing bid", code="BID_TOO_LOW")


def _not_found() -> NotFound:
    return NotFound("Bid not found", code="BID_NOT_FOUND")


def get_bid(principal: Principal, bid_id: str) -> BidModel:
    """The seller who placed it, or an admin; anyone else is told it does not exist. The id index gives
    the bid's keys; the bid itself is read consistently (a replaced or withdrawn bid is gone)."""
    for keys in BidModel.by_bid_id.query(bid_id, limit=1):
        if keys.seller_id != principal.user_id and not principal.is_admin:
            break
        try:
            bid = BidModel.get(keys.auction_shard, keys.seller_id, consistent_read=True)
        except BidModel.DoesNotExist:
            break
        if bid.bid_id == bid_id:
            return bid
    raise _not_found()


def withdraw_bid(principal: Principal, bid_id: str) -> None:
    """A standing bid is withdrawn while its auction is open: the delete, conditional on the bid being the
    one read, and the check that the auction is still open are one transaction; the seller's bid list
    counts one fewer. After closing: 409 AUCTION_CLOSED (the bid took part in the decision)."""
    bid = get_bid(principal, bid_id)
    if bid.seller_id != principal.user_id:
        raise _not_found()
    _withdraw(bid, clock.now())


def withdraw_standing_bids(seller_id: str, now: datetime) -> int:
    """A suspended or deactivated seller's bids leave every auction still open. Only bids placed within
    an auction's longest duration can stand in one, so only those are read."""
    withdrawn = 0
    since = now - timedelta(seconds=MAX_DURATION_SECONDS)
    for bid in BidModel.by_seller.query(seller_id, BidModel.placed_at >= since):
        try:
            _withdraw(bid, now)
            withdrawn += 1
        except (Conflict, NotFound):  # closed already (it took part), or gone meanwhile
            continue
    return withdrawn


def _withdraw(bid: BidModel, now: datetime) -> None:
    """The bid's shard's gate is checked open (the shard is in the bid's key); the auction's end time, read."""
    auction = AuctionModel.get(bid.auction_id)  # its end time never changes: any read will do
    if auction.ends_at <= now:
        raise Conflict("The auction is closed", code="AUCTION_CLOSED")
    try:
        with UnitOfWork() as work:
            still_open = work.condition_check(BidGateModel, bid.auction_shard,
                                              condition=BidGateModel.closed_at.does_not_exist())
            work.delete(bid, condition=BidModel.bid_id == bid.bid_id)
            counters.add(work, counters.bids(bid.seller_id), -1)
    except TransactWriteError as error:
        failed = failed_items(error)
        if still_open in failed:
            raise Conflict("The auction is closed", code="AUCTION_CLOSED") from None
        if bid in failed:  # replaced by a re-bid, or withdrawn, meanwhile
            raise _not_found() from None
        raise


def _auction_book_and_funds(auction_id: str, seller_id: str) -> tuple[AuctionModel, SellerBookModel, int]:
    """The auction, the seller's book of profiles and what its account may spend, in one (consistent)
    round trip."""
    with TransactGet(connection=connection()) as work:
        auction, book = work.get(AuctionModel, auction_id), work.get(SellerBookModel, seller_id)
        account = work.get(AccountModel, seller_id)
    try:
        found = auction.get()
    except AuctionModel.DoesNotExist:
        raise auctions.not_found() from None
    try:
        spendable = int(account.get().spendable)
    except AccountModel.DoesNotExist:
        spendable = 0
    try:
        return found, book.get(), spendable
    except SellerBookModel.DoesNotExist:
        return found, SellerBookModel(seller_id=seller_id, profiles={}), spendable


def list_bids(principal: Principal, page: int, limit: int, next_token: str | None) -> Page:
    seller = principal.user_id

    def run(start_key, count):
        return BidModel.by_seller.query(seller, scan_index_forward=False, last_evaluated_key=start_key, limit=count)

    return paginate(run, lambda: counters.value(counters.bids(seller)), scope=f"bids:{seller}",
                    page=page, limit=limit, next_token=next_token)

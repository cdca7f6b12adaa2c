"""Sellers' bids: one standing bid per seller and auction, which only a higher re-bid replaces."""
from __future__ import annotations

import uuid

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.domain.auctions import OPEN
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.money import to_minor
from chalicelib.persistence import counters
from chalicelib.persistence.db import failed_items, transact_write
from chalicelib.persistence.models import AuctionModel, BidModel, CallModel
from chalicelib.persistence.pagination import Page, paginate
from chalicelib.services import auctions, bid_profiles, calls


def place_bid(principal: Principal, auction_id: str, amount) -> BidModel:
    """One conditional transaction: the auction is open (and counts the bid) and this seller's
    standing bid, if any, is lower. Validation reads the auction, its call and the seller's profiles."""
    now = clock.now()
    auction = auctions.get_auction(auction_id)
    if auction.status != OPEN or auction.ends_at <= now:
        raise Conflict("The auction is closed", code="AUCTION_CLOSED")
    minor = to_minor(amount)
    if minor < int(auction.reserve_price):
        raise ValidationFailed("Bid is below the reserve price", code="BID_TOO_LOW")
    call = CallModel.get(auction.call_id)
    matching = bid_profiles.seller_profiles_matching(principal.user_id, calls.facts(call))
    if not matching:
        raise ValidationFailed("You have no active bid profile matching this call", code="NO_MATCHING_PROFILE")
    within = [p for p in matching if bid_profiles.budget_of(p) is None or minor <= bid_profiles.budget_of(p)]
    if not within:
        raise ValidationFailed("Bid exceeds your profile's max_budget", code="BUDGET_EXCEEDED")
    profile = max(within, key=lambda p: int(p.bid_amount))
    bid = BidModel(auction_id=auction_id, seller_id=principal.user_id, bid_id=str(uuid.uuid4()),
                   profile_id=profile.profile_id, amount=minor, placed_at=now)
    # A bid writes only its own item: the auction is checked, not written, so bids do not queue on one
    # item. The seller's first bid in this auction counts in their bid list; a re-bid replaces it. Most
    # bids are first bids, so that is tried first; a standing bid makes it a re-bid, tried once more.
    for first_bid in (True, False):
        try:
            with transact_write() as tx:
                still_open = tx.condition_check(AuctionModel, auction_id,
                                                condition=(AuctionModel.status == OPEN) & (AuctionModel.ends_at > now))
                if first_bid:
                    tx.save(bid, condition=BidModel.seller_id.does_not_exist())
                    counters.add(tx, counters.bids(principal.user_id))
                else:
                    tx.save(bid, condition=BidModel.seller_id.exists() & (BidModel.amount < minor))
            return bid
        except TransactWriteError as error:
            failed = failed_items(error)
            if still_open in failed:
                raise Conflict("The auction is closed", code="AUCTION_CLOSED") from None
            if bid not in failed:
                raise
    raise ValidationFailed("A re-bid must be higher than your standing bid", code="BID_TOO_LOW")


def list_bids(principal: Principal, page: int, limit: int, next_token: str | None) -> Page:
    seller = principal.user_id

    def run(start_key, count):
        return BidModel.by_seller.query(seller, scan_index_forward=False, last_evaluated_key=start_key, limit=count)

    return paginate(run, lambda: counters.value(counters.bids(seller)), scope=f"bids:{seller}",
                    page=page, limit=limit, next_token=next_token)

"""One auction's bids over K keys, and the open auctions under the route keys sellers read.

Bids: a seller's bid in an auction is the item ("<auction_id>#<k>", seller_id), k a hash of the seller over
the auction's bid_shards (fixed when it opens, from the bid_shards setting), so a re-bid finds the bid it
replaces and one auction's bids are K partitions, not one. Each shard has a gate (BidGateModel): a bid is
written on condition its own shard's gate is open, and the closing writes every gate closed in the
transaction that closes the auction, so no bid joins after it and the bids read then are all there are.

Open auctions: an entry per route key of the auction's call, each in a shard by auction id
(OpenAuctionEntryModel), read by the keys a seller's profiles are under, every shard of each, in parallel.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain import routing
from chalicelib.persistence import route_entries
from chalicelib.persistence.base import shard_key, shard_keys, shard_of
from chalicelib.persistence.pagination import shard_pool
from chalicelib.persistence.tables import AuctionModel, BidGateModel, BidModel, BidProfileModel, OpenAuctionEntryModel
from chalicelib.persistence.unit_of_work import UnitOfWork

GATE_KEPT = timedelta(days=1)


def shards_of(auction: AuctionModel) -> int:
    return int(auction.bid_shards or 1)


def bid_key(auction: AuctionModel, seller_id: str) -> str:
    """The shard of the auction that a seller's bid is in (always the same one for that seller)."""
    return f"{auction.auction_id}#{shard_of(seller_id, shards_of(auction))}"


def bid_keys(auction: AuctionModel) -> list[str]:
    return [f"{auction.auction_id}#{k}" for k in range(shards_of(auction))]


def read_bids(auction: AuctionModel) -> list[BidModel]:
    """Every standing bid of the auction: each shard queried consistently, all at once."""
    found = shard_pool().map(lambda key: list(BidModel.query(key, consistent_read=True)), bid_keys(auction))
    return [bid for bids in found for bid in bids]


def read_bids_of(auction_id: str) -> list[BidModel]:
    return read_bids(AuctionModel.get(auction_id))  # its bid_shards never change: any read will do


def gate_open(auction: AuctionModel, seller_id: str):
    """(model, key, condition) of the check a bid of this seller makes: its shard's gate is not closed."""
    return BidGateModel, bid_key(auction, seller_id), BidGateModel.closed_at.does_not_exist()


def close_gates(work: UnitOfWork, auction: AuctionModel, now: datetime) -> None:
    """Every gate of the auction closed, in the unit that closes it."""
    for key in bid_keys(auction):
        work.save(BidGateModel(auction_shard=key, closed_at=now, purge_at=now + GATE_KEPT))


# --- open auctions under route keys -------------------------------------------------------------------

def open_entries(auction: AuctionModel, facts: routing.CallFacts) -> list[OpenAuctionEntryModel]:
    """The entries of an open auction: one under each key its call reads, in the auction's shard."""
    entry_key = f"{auction.ends_at.isoformat()}#{auction.auction_id}"
    return [OpenAuctionEntryModel(route_shard=shard_key(key, auction.auction_id), entry_key=entry_key,
                                  auction_id=auction.auction_id, ends_at=auction.ends_at,
                                  call_facts=auction.call_facts)
            for key in routing.call_keys(facts)]


def open_auctions_for(profiles: list[BidProfileModel], now: datetime,
                      everything: bool = False) -> list[OpenAuctionEntryModel]:
    """The entries of open auctions (not past their end) under the route keys of these profiles, one per
    auction, soonest ending first; with `everything` (admins), those under "*#*": every open auction."""
    keys = {f"{routing.ANY}#{routing.ANY}"} if everything else set().union(
        *(route_entries.keys_of(profile) for profile in profiles))
    partitions = [shard for key in sorted(keys) for shard in shard_keys(key)]
    after = OpenAuctionEntryModel.entry_key > now.isoformat()
    found = shard_pool().map(lambda partition: list(OpenAuctionEntryModel.query(partition, after)), partitions)
    entries = {entry.auction_id: entry for entries in found for entry in entries if entry.ends_at > now}
    return sorted(entries.values(), key=lambda entry: entry.entry_key)

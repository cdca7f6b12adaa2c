"""Exchange tables."""
from __future__ import annotations

from pynamodb.attributes import (BooleanAttribute, JSONAttribute, NumberAttribute, TTLAttribute,
                                 UTCDateTimeAttribute, UnicodeAttribute)
from pynamodb.indexes import AllProjection, KeysOnlyProjection, GlobalSecondaryIndex

from chalicelib.persistence.base import BaseModel


class ProfilesBySeller(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_seller"
        projection = AllProjection()

    seller_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class BidProfileModel(BaseModel):
    logical_name = "bid_profiles"

    class Meta(BaseModel.Meta):
        pass

    profile_id = UnicodeAttribute(hash_key=True)
    seller_id = UnicodeAttribute()
    criteria = JSONAttribute()  # {"countries", "states", "call_type", "keywords", "max_budget" (minor)}
    # Both or either may be absent: such a profile bids in auctions only (domain/routing.routable).
    bid_amount = NumberAttribute(null=True)  # minor units
    destination_number = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    # Taken out of the market (inactive) because its seller was suspended or deactivated; back when the
    # seller is active again.
    paused = BooleanAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # Bumped by every write; a write is conditional on the revision it read, so the profile and its
    # RouteEntryModel items change together (None: written before revisions were kept).
    revision = NumberAttribute(null=True)
    # The terms it buys by (domain/terms.py), each optional: {"conversion_seconds", "schedule", "caps",
    # "blocked_callers", "record_calls"}; copied to its route entries and its seller's book.
    terms = JSONAttribute(null=True)
    # A seller's own bidding server, instead of a static bid_amount: {"url", "timeout_ms", "send_caller_id",
    # "secret"} (services/rtb.py pings it when a call is routed).
    rtb = JSONAttribute(null=True)

    by_seller = ProfilesBySeller()


class RouteEntryModel(BaseModel):
    """Where instant routing finds an active bid profile: one item per "<country or *>#<state or *>" key
    its geography targets (domain/routing.profile_keys), each a copy of the profile, so a call reads the
    profiles of its own 4 keys (domain/routing.call_keys) and nothing else. Written in the transaction
    that creates, changes or deletes the profile (persistence/route_entries.py); an inactive profile
    has none."""

    logical_name = "route_entries"

    class Meta(BaseModel.Meta):
        pass

    route_key = UnicodeAttribute(hash_key=True)  # "US#CA", "US#*", "*#CA" or "*#*"
    profile_id = UnicodeAttribute(range_key=True)
    seller_id = UnicodeAttribute()
    criteria = JSONAttribute()  # the profile's, max_budget included
    bid_amount = NumberAttribute(null=True)  # minor units; None: the profile bids in auctions only
    destination_number = UnicodeAttribute(null=True)
    terms = JSONAttribute(null=True)  # the profile's
    rtb = JSONAttribute(null=True)  # the profile's bidding server (its secret too: pings are signed with it)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class SellerBookModel(BaseModel):
    """A seller's active bid profiles in one item, so a bid reads them with the auction in one round trip:
    {profile_id: {"criteria", "bid_amount", "created_at"}}. Rewritten (conditionally on `version`) in
    the transaction that writes a profile (persistence/seller_books.py)."""

    logical_name = "seller_books"

    class Meta(BaseModel.Meta):
        pass

    seller_id = UnicodeAttribute(hash_key=True)
    profiles = JSONAttribute(default=dict)
    version = NumberAttribute(default=0)


class ProfileSpendModel(BaseModel):
    """What a profile's seller paid for calls on one day, against its daily max_budget."""

    logical_name = "profile_spend"

    class Meta(BaseModel.Meta):
        pass

    spend_key = UnicodeAttribute(hash_key=True)  # "<profile_id>#<YYYY-MM-DD>"
    spent = NumberAttribute(default=0)
    purge_at = TTLAttribute(null=True)


class CapCounterModel(BaseModel):
    """A profile's calls in one cap window (domain/terms.window_keys: a clock hour, day or month in its
    time zone), or its calls under way now (concurrency_key). Written by conditional ADDs in the
    transaction that routes (or ends) a call, so a cap is never exceeded by calls routed at once."""

    logical_name = "cap_counters"

    class Meta(BaseModel.Meta):
        pass

    counter_key = UnicodeAttribute(hash_key=True)  # "<profile_id>#<window>#<period>" or "<profile_id>#concurrent"
    count = NumberAttribute(default=0)
    purge_at = TTLAttribute(null=True)  # none for concurrency


class CallerBilledModel(BaseModel):
    """When a seller was last billed for a call from one caller: a profile with duplicate_window_hours
    takes a caller's call within that window without paying for it."""

    logical_name = "caller_billed"

    class Meta(BaseModel.Meta):
        pass

    caller_key = UnicodeAttribute(hash_key=True)  # "<seller_id>#<caller's E.164 number>"
    billed_at = UTCDateTimeAttribute()
    purge_at = TTLAttribute(null=True)  # the longest window after the bill


class OpenAuctions(GlobalSecondaryIndex):
    """Sparse: open auctions by end time, in shards ("OPEN#<k>", by auction id), for the sweeper."""

    class Meta:
        index_name = "open_by_end"
        projection = AllProjection()

    open_key = UnicodeAttribute(hash_key=True)
    ends_at = UTCDateTimeAttribute(range_key=True)


class OpenAuctionEntryModel(BaseModel):
    """Where sellers find open auctions, as instant routing finds profiles: an open auction has one entry
    under each route key its call reads (domain/routing.call_keys: "US#CA", "US#*", "*#CA", "*#*"), each in
    one of partition_shards shards by auction id ("US#*#3"), so no key takes every auction. A seller reads
    the keys its active profiles are under (routing.profile_keys), every shard of each. Written with the
    auction; deleted when it closes."""

    logical_name = "open_auction_entries"

    class Meta(BaseModel.Meta):
        pass

    route_shard = UnicodeAttribute(hash_key=True)  # "<route key>#<shard>"
    entry_key = UnicodeAttribute(range_key=True)  # "<ends_at iso>#<auction_id>": soonest ending first
    auction_id = UnicodeAttribute()
    ends_at = UTCDateTimeAttribute()
    call_facts = JSONAttribute()  # the auction's: matching needs nothing else


class AuctionModel(BaseModel):
    logical_name = "auctions"

    class Meta(BaseModel.Meta):
        pass

    auction_id = UnicodeAttribute(hash_key=True)
    call_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    reserve_price = NumberAttribute()  # minor units
    call_facts = JSONAttribute(null=True)  # what the call states, for matching bidders' profiles
    status = UnicodeAttribute()  # open | closed (the wire says active | completed: domain/auctions.py)
    open_key = UnicodeAttribute(null=True)  # "OPEN#<shard>" while open
    # Its bids' shards (BidModel.auction_shard "<auction_id>#<k>", k < bid_shards), fixed when it opens.
    bid_shards = NumberAttribute(null=True)
    bid_count = NumberAttribute(default=0)  # the bids it closed with (bids do not write the auction)
    ends_at = UTCDateTimeAttribute()
    winner = JSONAttribute(null=True)  # {"bid_id", "seller_id", "profile_id", "amount", "placed_at"}
    created_at = UTCDateTimeAttribute()
    closed_at = UTCDateTimeAttribute(null=True)
    decided_at = UTCDateTimeAttribute(null=True)  # when the winner was read from the bids, after closing

    open_auctions = OpenAuctions()


class BidsBySeller(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_seller"
        projection = AllProjection()

    seller_id = UnicodeAttribute(hash_key=True)
    placed_at = UTCDateTimeAttribute(range_key=True)


class BidsById(GlobalSecondaryIndex):
    """A bid by its id (GET/DELETE /bids/{id}): the keys, to read the bid itself consistently."""

    class Meta:
        index_name = "by_bid_id"
        projection = KeysOnlyProjection()

    bid_id = UnicodeAttribute(hash_key=True)


class BidModel(BaseModel):
    """A seller's standing bid in an auction: one per seller, a higher re-bid replaces it. An auction's bids
    are spread over its bid_shards keys by a hash of the seller (persistence/bid_shards.py), so one busy
    auction is not one partition."""

    logical_name = "bids"

    class Meta(BaseModel.Meta):
        pass

    auction_shard = UnicodeAttribute(hash_key=True)  # "<auction_id>#<k>"
    seller_id = UnicodeAttribute(range_key=True)
    auction_id = UnicodeAttribute()
    bid_id = UnicodeAttribute()
    profile_id = UnicodeAttribute()
    amount = NumberAttribute()  # minor units
    placed_at = UTCDateTimeAttribute()

    by_seller = BidsBySeller()
    by_bid_id = BidsById()


class BidGateModel(BaseModel):
    """The open flag of one bid shard of an auction: a bid is written only on condition that its shard's
    gate has not closed (an absent gate is open), so bids check their own shard, never one shared item. The
    closing writes every gate closed in the transaction that closes the auction."""

    logical_name = "bid_gates"

    class Meta(BaseModel.Meta):
        pass

    auction_shard = UnicodeAttribute(hash_key=True)  # "<auction_id>#<k>", as the bids'
    closed_at = UTCDateTimeAttribute(null=True)
    purge_at = TTLAttribute(null=True)  # a closed gate is kept a day (longer than any bid can be in flight)

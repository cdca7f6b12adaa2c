"""Real-time bidding's pool numbers and reservations (services/rtb_pool.py).

- `rtb_pool`: the platform numbers inbound pings hand out (bought by admins with routing rtb_pool), all under
  one key: read by each ping (one Query), written only when an admin buys, changes or releases one.
- `rtb_reservations`: the bid a ping answered, keyed by the caller: a caller has at most one live
  reservation at a time (a repeat ping answers it again), so no two live reservations share a (pool number,
  caller) pair. While live it is in the sparse, sharded `live` index by expiry, which the hold job reads to
  release the expired ones.
"""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import KeysOnlyProjection, GlobalSecondaryIndex

from chalicelib.persistence.base import BaseModel

POOL = "rtb"


class RtbPoolModel(BaseModel):
    class Meta(BaseModel.Meta):
        pass

    logical_name = "rtb_pool"

    pool = UnicodeAttribute(hash_key=True)  # POOL
    phone_number = UnicodeAttribute(range_key=True)
    number_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    added_at = UTCDateTimeAttribute()


class LiveReservations(GlobalSecondaryIndex):
    """Live reservations by expiry, in shards (no partition takes every ping)."""

    class Meta:
        index_name = "live"
        projection = KeysOnlyProjection()

    live_shard = UnicodeAttribute(hash_key=True)  # "live#<k>", k of the partition_shards by the caller
    expires_at = UTCDateTimeAttribute(range_key=True)


class RtbReservationModel(BaseModel):
    class Meta(BaseModel.Meta):
        pass

    logical_name = "rtb_reservations"

    caller = UnicodeAttribute(hash_key=True)  # the pinged from_number (E.164)
    bid_id = UnicodeAttribute()
    status = UnicodeAttribute()  # live | used | released
    buyer_id = UnicodeAttribute()
    pool_number = UnicodeAttribute()
    profile_id = UnicodeAttribute()
    seller_id = UnicodeAttribute()
    price = NumberAttribute()  # what the seller pays (minor units), held while live
    bid_amount = NumberAttribute()  # what the buyer earns: the price less the take
    destination_number = UnicodeAttribute()
    spend_key = UnicodeAttribute(null=True)  # the profile's budget day the price counts against
    terms = JSONAttribute(null=True)  # the profile's terms, as a routed call keeps them
    call_type = UnicodeAttribute(null=True)
    keywords = JSONAttribute(null=True)
    state = UnicodeAttribute(null=True)
    call_id = UnicodeAttribute(null=True)  # the call that used it
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    live_shard = UnicodeAttribute(null=True)  # set while live (the `live` index)
    purge_at = TTLAttribute()

    live = LiveReservations()

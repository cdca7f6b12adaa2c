"""Numbers tables."""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, TTLAttribute, UTCDateTimeAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, KeysOnlyProjection, GlobalSecondaryIndex

from chalicelib.domain.numbers import CUSTOM
from chalicelib.persistence.base import BaseModel, EVERYTHING, everything_index

BILLABLE = "ACTIVE"  # the billing_key prefix of a billable number (in shards, by number id)


class NumbersByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class BillableNumbers(GlobalSecondaryIndex):
    """Sparse: active numbers only, for the monthly fee job (never a request path)."""

    class Meta:
        index_name = "billable"
        projection = KeysOnlyProjection()

    billing_key = UnicodeAttribute(hash_key=True)  # "ACTIVE#<shard>"
    number_id = UnicodeAttribute(range_key=True)


class NumbersByOwnerStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner_status"
        projection = AllProjection()

    owner_status = UnicodeAttribute(hash_key=True)  # "<owner_id>#<status>"
    created_at = UTCDateTimeAttribute(range_key=True)


class NumberModel(BaseModel):
    """A phone number bought through the exchange. Released numbers stay, as history."""

    logical_name = "numbers"
    sharded_keys = {"listing": EVERYTHING}

    class Meta(BaseModel.Meta):
        pass

    number_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    phone_number = UnicodeAttribute()
    twilio_sid = UnicodeAttribute()
    friendly_name = UnicodeAttribute()
    number_type = UnicodeAttribute()  # local | toll_free | mobile
    country_code = UnicodeAttribute()
    region = UnicodeAttribute(null=True)
    locality = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="ACTIVE")  # ACTIVE | RELEASED
    owner_status = UnicodeAttribute()  # "<owner_id>#<status>"
    routing = UnicodeAttribute(default=CUSTOM)  # custom (voice_url) | exchange
    voice_url = UnicodeAttribute(null=True)
    voice_method = UnicodeAttribute(default="POST")
    call_type = UnicodeAttribute(null=True)
    setup_price = NumberAttribute()  # minor units
    monthly_price = NumberAttribute()
    billed_through = UnicodeAttribute()
    # Since when a monthly fee its owner's balance could not pay has suspended it (callers are told it is
    # unavailable); removed when the fee is paid.
    fee_due_since = UTCDateTimeAttribute(null=True)  # last billing period charged, "YYYY-MM"
    billing_key = UnicodeAttribute(null=True)  # "ACTIVE#<shard>" while billable (by number id)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    released_at = UTCDateTimeAttribute(null=True)

    listing = UnicodeAttribute()  # "ALL#<shard>": set from the item's key (BaseModel.sharded_keys)

    by_owner = NumbersByOwner()
    by_owner_status = NumbersByOwnerStatus()
    billable = BillableNumbers()
    everything = everything_index("created_at")


class PhoneClaimModel(BaseModel):
    """One item per number held on the exchange: nobody can hold a number twice, and search can
    tell which numbers are taken with one batch read."""

    logical_name = "phone_claims"

    class Meta(BaseModel.Meta):
        pass

    phone_number = UnicodeAttribute(hash_key=True)
    number_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()


class OrdersByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class PendingOrders(GlobalSecondaryIndex):
    """Sparse: orders not finished yet, oldest first, for the sweeper that completes stuck orders."""

    class Meta:
        index_name = "pending"
        projection = KeysOnlyProjection()

    pending_key = UnicodeAttribute(hash_key=True)  # "PENDING#<shard>"
    created_at = UTCDateTimeAttribute(range_key=True)


class OrderModel(BaseModel):
    """A purchase of 1-10 numbers; its items live inside it (written by one worker at a time)."""

    logical_name = "orders"
    sharded_keys = {"listing": EVERYTHING}

    class Meta(BaseModel.Meta):
        pass

    order_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    status = UnicodeAttribute()  # PENDING | COMPLETED | PARTIALLY_COMPLETED | FAILED
    items = JSONAttribute()  # [{"phone_number", "friendly_name", "configuration", "status", ...}]
    total_price = NumberAttribute()  # minor units, if every item succeeds
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    completed_at = UTCDateTimeAttribute(null=True)
    pending_key = UnicodeAttribute(null=True)  # "PENDING#<shard>" (by order id) until the order finishes, then removed
    listing = UnicodeAttribute()  # "ALL#<shard>": set from the item's key (BaseModel.sharded_keys)

    by_owner = OrdersByOwner()
    pending = PendingOrders()
    everything = everything_index("created_at")


class SearchCacheModel(BaseModel):
    """Twilio search results for 5 minutes; DynamoDB's TTL removes them later, reads check the time."""

    logical_name = "number_search_cache"

    class Meta(BaseModel.Meta):
        pass

    cache_key = UnicodeAttribute(hash_key=True)
    results = JSONAttribute()
    expires_at = UTCDateTimeAttribute()
    purge_at = TTLAttribute()

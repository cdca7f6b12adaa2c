"""Calls tables."""
from __future__ import annotations

from pynamodb.attributes import (BooleanAttribute, JSONAttribute, ListAttribute, MapAttribute, NumberAttribute,
                                 UTCDateTimeAttribute, UnicodeAttribute)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.persistence.base import BaseModel, EVERYTHING, everything_index


class CallsByOwner(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class CallsByOwnerStatus(GlobalSecondaryIndex):
    """A buyer's calls in one status, newest first: a status-filtered list reads only what it returns."""

    class Meta:
        index_name = "by_owner_status"
        projection = AllProjection()

    owner_status = UnicodeAttribute(hash_key=True)  # "<owner_id>#<status>"
    created_at = UTCDateTimeAttribute(range_key=True)


class CallsBySeller(GlobalSecondaryIndex):
    """The calls routed to a seller, newest first: a call is in it while it has a seller (a released
    attempt leaves it)."""

    class Meta:
        index_name = "by_seller"
        projection = AllProjection()

    seller_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class OpenDisputes(GlobalSecondaryIndex):
    """Sparse: calls whose dispute waits for an admin's decision, oldest first."""

    class Meta:
        index_name = "open_disputes"
        projection = AllProjection()

    open_dispute = UnicodeAttribute(hash_key=True)  # "OPEN#<shard>"
    created_at = UTCDateTimeAttribute(range_key=True)


class OpenHolds(GlobalSecondaryIndex):
    """Sparse: the calls holding a seller's price (routed and not ended), in N shards by call id, oldest
    first: the hold job and GET /admin/holds read it, never a scan (persistence/holds.py)."""

    class Meta:
        index_name = "open_holds"
        projection = AllProjection()

    hold_shard = UnicodeAttribute(hash_key=True)  # "holds#<n>"
    held_since = UTCDateTimeAttribute(range_key=True)


class DisputeAttribute(MapAttribute):
    """A seller's dispute of a billed call its buyer reported: open until an admin accepts (the
    settlement is reversed) or rejects it."""

    status = UnicodeAttribute()  # open | accepted | rejected
    reason = UnicodeAttribute()
    opened_at = UTCDateTimeAttribute()
    decided_at = UTCDateTimeAttribute(null=True)
    note = UnicodeAttribute(null=True)


class RecordingAttribute(MapAttribute):
    """A live call's recording, as Twilio's recordingStatusCallback last stated it (statuses only move
    forward: domain/calls.py)."""

    sid = UnicodeAttribute()  # Twilio's RecordingSid
    status = UnicodeAttribute()  # in-progress, then completed, absent or failed
    duration = NumberAttribute(null=True)  # seconds, once Twilio knows them
    url = UnicodeAttribute(null=True)  # Twilio's RecordingUrl: never shown (the audio is served by its sid)


class CallModel(BaseModel):
    """A call brought by a buyer. Its status changes only by conditional writes (domain/calls.py)."""

    logical_name = "calls"
    sharded_keys = {"listing": EVERYTHING}

    class Meta(BaseModel.Meta):
        pass

    call_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute()
    from_number = UnicodeAttribute()
    to_number = UnicodeAttribute()
    direction = UnicodeAttribute()  # inbound | outbound
    source = UnicodeAttribute(default="api")  # api (its buyer drives it) | twilio (Twilio's callbacks do)
    call_sid = UnicodeAttribute(null=True)  # Twilio's CallSid of a call it carried
    # Each seller a live call rang: {"seller_id", "profile_id", "price", "destination_number", "time_limit",
    # "leg_sid" (Twilio's CallSid of the dialed leg, once known), "outcome", "started_at", "ended_at",
    # "answer" (the TwiML the Dial's action got when this attempt ended: a repeated action gets it again),
    # "record" (its profile records calls: its <Dial> records, a repeated request's too)}
    attempts = JSONAttribute(default=list)
    call_type = UnicodeAttribute(null=True)
    keywords = ListAttribute(of=UnicodeAttribute, default=list)
    caller_country = UnicodeAttribute(null=True)
    caller_state = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    owner_status = UnicodeAttribute()  # "<owner_id>#<status>", moved with every status change
    auction_id = UnicodeAttribute(null=True)
    seller_id = UnicodeAttribute(null=True)
    profile_id = UnicodeAttribute(null=True)
    price = NumberAttribute(null=True)  # minor units the seller pays (held from routing until the end)
    spend_key = UnicodeAttribute(null=True)  # the profile's daily budget the price was counted against
    destination_number = UnicodeAttribute(null=True)
    duration_seconds = NumberAttribute(null=True)  # as reported (by Twilio for a live call, else its buyer)
    billed_seconds = NumberAttribute(null=True)  # the talk time billed: bounded by what the buyer can pay
    cost = NumberAttribute(null=True)  # telephony cost, minor units: from the buyer's payout first, then its balance
    billable = BooleanAttribute(null=True)
    # The routed profile's duplicate window: its seller was billed for this caller within it (the call is
    # routed, not billable), or, when not, the key a bill of this call writes for later calls to find.
    duplicate_caller = BooleanAttribute(null=True)
    caller_key = UnicodeAttribute(null=True)
    # The routed profile's terms the call is settled on (domain/terms.py; its blocked callers left out):
    # conversion_seconds, caps (what counts, in which time zone) and record_calls.
    terms = JSONAttribute(null=True)
    converted = BooleanAttribute(null=True)  # its talk time reached conversion_seconds (null until it ends)
    # The profile's concurrent-calls counter the call holds a slot of until it ends (cap_counters.py), and
    # whether it has counted in the profile's cap windows yet.
    concurrency_key = UnicodeAttribute(null=True)
    cap_counted = BooleanAttribute(null=True)
    # Each profile routing considered, in order: {"profile_id", "seller_id", "outcome", "reason"}.
    routing_log = JSONAttribute(null=True)
    dispute = DisputeAttribute(null=True)
    recording = RecordingAttribute(null=True)
    open_dispute = UnicodeAttribute(null=True)  # "OPEN#<shard>" (by call id) while its dispute waits (OpenDisputes)
    # While a seller's price is held: the OpenHolds shard, since when, and when the hold job ends it.
    hold_shard = UnicodeAttribute(null=True)
    held_since = UTCDateTimeAttribute(null=True)
    hold_due_at = UTCDateTimeAttribute(null=True)
    # Who ended it by hand (POST /admin/calls/{id}/release): {"admin_id", "reason", "at"}.
    released_by = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    routed_at = UTCDateTimeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)  # when it went in progress
    ended_at = UTCDateTimeAttribute(null=True)  # when it reached any ending
    completed_at = UTCDateTimeAttribute(null=True)
    listing = UnicodeAttribute()  # "ALL#<shard>": set from the item's key (BaseModel.sharded_keys)

    by_owner = CallsByOwner()
    by_owner_status = CallsByOwnerStatus()
    by_seller = CallsBySeller()
    open_disputes = OpenDisputes()
    open_holds = OpenHolds()
    everything = everything_index("created_at")

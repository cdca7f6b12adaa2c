"""Compliance tables."""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, UTCDateTimeAttribute, UnicodeAttribute

from chalicelib.persistence.base import EVERYTHING, BaseModel, everything_index


class ComplianceRefusalModel(BaseModel):
    """Every call compliance refused, with its reason (kept for audits)."""

    logical_name = "compliance_refusals"

    class Meta(BaseModel.Meta):
        pass

    owner_id = UnicodeAttribute(hash_key=True)
    refusal_key = UnicodeAttribute(range_key=True)  # "<created_at iso>#<uuid>"
    from_number = UnicodeAttribute()
    to_number = UnicodeAttribute()
    code = UnicodeAttribute()
    reason = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class DncEntryModel(BaseModel):
    logical_name = "dnc"

    class Meta(BaseModel.Meta):
        pass

    phone_number = UnicodeAttribute(hash_key=True)
    reason = UnicodeAttribute()
    list_type = UnicodeAttribute()
    added_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class BlockedCallerModel(BaseModel):
    """The platform's blocked callers (known litigators, fraud): one item per number or prefix ("+1212"),
    keyed by it, so a call looks up its caller's prefixes by key instead of reading the list."""

    logical_name = "blocked_callers"
    sharded_keys = {"listing": EVERYTHING}

    class Meta(BaseModel.Meta):
        pass

    phone_number = UnicodeAttribute(hash_key=True)  # a number or a prefix: "+" and 1 to 15 digits
    reason = UnicodeAttribute()
    added_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    listing = UnicodeAttribute()  # "ALL#<shard>": set from the item's key (BaseModel.sharded_keys)

    everything = everything_index("created_at")  # GET /admin/blocked-callers, newest first


class ComplianceRuleModel(BaseModel):
    """Small admin-kept rules, one partition per kind: "tcpa_hours" (one item), "state" (restricted
    states, one item each), so listing a kind is one query."""

    logical_name = "compliance_rules"

    class Meta(BaseModel.Meta):
        pass

    kind = UnicodeAttribute(hash_key=True)
    rule_key = UnicodeAttribute(range_key=True)
    settings = JSONAttribute(default=dict)
    reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()

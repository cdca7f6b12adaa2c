"""Rate limit tables: counters of requests and of password checks per window."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.persistence.base import BaseModel


class RateCounterModel(BaseModel):
    """One item per subject and fixed window: requests counted with an atomic ADD (exact across every Lambda
    container), or attempts reserved with a conditional ADD. DynamoDB's TTL removes old windows."""

    logical_name = "rate_counters"

    class Meta(BaseModel.Meta):
        pass

    counter_key = UnicodeAttribute(hash_key=True)  # "<scope>#<subject>#<window start, epoch seconds>"
    # Requests of the window, by limit: every request of the subject, and those of the narrower limits.
    hits = NumberAttribute(null=True)
    number_search = NumberAttribute(null=True)
    purchase = NumberAttribute(null=True)
    rtb_pings = NumberAttribute(null=True)
    # Password checks reserved (failed, or still in flight) in a login window.
    attempts = NumberAttribute(null=True)
    purge_at = TTLAttribute()

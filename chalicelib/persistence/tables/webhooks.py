"""Users' webhook endpoints and the log of what was delivered to them (services/webhooks.py).

- `webhook_endpoints`: one item per user with all of that user's endpoints (a few at most), so that the
  outbox's publisher finds whose endpoints want an event in one BatchGetItem for every recipient of it.
  Written only when a user changes an endpoint, or an endpoint starts or stops failing (never per delivery
  that goes well), conditional on the version read.
- `webhook_deliveries`: one item per delivery (an event to an endpoint), with each attempt; keyed by
  endpoint, newest first; kept 30 days.
"""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.persistence.base import BaseModel


class WebhookEndpointsModel(BaseModel):
    class Meta(BaseModel.Meta):
        pass

    logical_name = "webhook_endpoints"

    user_id = UnicodeAttribute(hash_key=True)
    # [{"endpoint_id", "url", "events", "secret", "status": active|disabled, "failing_since", "created_at"}]
    endpoints = JSONAttribute(default=list)
    version = NumberAttribute(default=0)


class WebhookDeliveryModel(BaseModel):
    class Meta(BaseModel.Meta):
        pass

    logical_name = "webhook_deliveries"

    endpoint_id = UnicodeAttribute(hash_key=True)
    delivery_key = UnicodeAttribute(range_key=True)  # "<first queued at, ISO 8601>#<delivery id>": newest last
    delivery_id = UnicodeAttribute()  # X-Exchange-Delivery: the same on every attempt
    user_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    event_id = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | delivered | failed
    attempts = JSONAttribute(default=list)  # [{"at", "status_code", "failure", "elapsed_ms"}]
    attempt_count = NumberAttribute(default=0)  # each attempt's write is conditional on the count before it
    next_attempt_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    purge_at = TTLAttribute()

"""Webhooks for users' servers, as rules: which events an endpoint gets, when a failed delivery is tried
again, and when it is given up."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from chalicelib.domain.events import EVENT_TYPES

TEST_EVENT = "webhook.test"  # what POST /webhooks/{id}/test sends
MAX_ENDPOINTS = 10  # per user
ACTIVE, DISABLED = "active", "disabled"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
JITTER = 0.2  # each retry's delay is its step plus up to 20%

EVENT_HEADER, DELIVERY_HEADER = "X-Exchange-Event", "X-Exchange-Delivery"
SUBSCRIBABLE = EVENT_TYPES  # the realtime catalogue: the same events, to the same people


def delivery_id(event_id: str, endpoint_id: str) -> str:
    """The same delivery however often the event is published (the outbox's stream is at least once)."""
    return str(uuid.uuid5(uuid.UUID(event_id), endpoint_id))


def wants(endpoint: dict, event_type: str) -> bool:
    return endpoint.get("status") == ACTIVE and event_type in endpoint.get("events", ())


def retry_delay(failed_attempts: int, schedule: tuple[int, ...], draw: float | None = None) -> int:
    """Seconds before the next attempt after `failed_attempts` (1, 2, ...) failed: the schedule's step for it
    (its last step repeats), plus up to JITTER of it, so that many deliveries failing together do not all
    come back at once."""
    step = schedule[min(failed_attempts, len(schedule)) - 1]
    return int(step * (1 + JITTER * (random.random() if draw is None else draw)))


def gives_up(first_at: datetime, next_at: datetime, retry_hours: int) -> bool:
    """A delivery is tried for `retry_hours` after its first attempt, then marked failed."""
    return next_at > first_at + timedelta(hours=retry_hours)


def disables(failing_since: datetime | None, now: datetime, retry_hours: int) -> bool:
    """An endpoint that has failed every delivery for `retry_hours` is disabled."""
    return failing_since is not None and now - failing_since >= timedelta(hours=retry_hours)

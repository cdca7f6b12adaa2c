"""The caller's realtime events, read back (GET /events): the query and each event as the API answers it."""
from typing import Any

from pydantic import Field

from chalicelib.schemas.common import UUID_PATTERN, ResponseModel, StrictModel


class EventsQuery(StrictModel):
    after: str | None = Field(None, pattern=UUID_PATTERN, description=(
        "The event_id of the last event you have: only the events after it are listed. Without it, every event "
        "of the last 24 hours. An id not found (older than 24 hours, or not yours) is 404 EVENT_NOT_FOUND."))
    limit: int = Field(50, ge=1, le=100)
    next_token: str | None = Field(None, max_length=2048, description="Opaque cursor from a previous page")


class EventOut(ResponseModel):
    type: str = Field(description="e.g. call.status_changed, balance.changed (docs/realtime.md lists them)")
    event_id: str = Field(description="The same on every delivery of the event: drop one you have seen")
    seq: int = Field(description="Its place in your feed: 1, 2, 3, ... with no gaps, in the order events were "
                                 "added to it")
    occurred_at: str
    data: dict[str, Any]

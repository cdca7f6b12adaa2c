"""An auction's states and its clock, as plain values and functions."""
from __future__ import annotations

import math
from datetime import datetime

OPEN, CLOSED = "open", "closed"  # as stored
# As the wire shows them (the seeds' words): an auction is active while open and completed once closed.
ACTIVE, COMPLETED = "active", "completed"
SHOWN_AS = {OPEN: ACTIVE, CLOSED: COMPLETED}
MAX_QUEUE_DELAY_SECONDS = 900  # SQS delays a message at most 15 minutes
MAX_DURATION_SECONDS = 900  # an auction's longest: only bids placed since then can stand in an open one


def close_delay(ends_at: datetime, now: datetime) -> int:
    """Seconds to delay the closing message so it arrives at the end time (at least 1, at most SQS's cap)."""
    return min(MAX_QUEUE_DELAY_SECONDS, max(1, math.ceil((ends_at - now).total_seconds())))

"""The call lifecycle as one explicit state machine, and what a completed call costs."""
from __future__ import annotations

import math

from chalicelib.domain.errors import InvalidState

PENDING, QUEUED, RINGING, IN_PROGRESS, COMPLETED = "pending", "queued", "ringing", "in_progress", "completed"
FAILED, CANCELED, NO_ANSWER, BUSY = "failed", "canceled", "no_answer", "busy"
STATUSES = (PENDING, QUEUED, RINGING, IN_PROGRESS, COMPLETED, FAILED, CANCELED, NO_ANSWER, BUSY)
UNDELIVERED = frozenset({FAILED, CANCELED, NO_ANSWER, BUSY})  # endings in which nobody is billed
ENDED = UNDELIVERED | {COMPLETED}
# Who drives a call: its buyer through the API (the seeds' flow), or Twilio's callbacks for a call it carried.
API, TWILIO = "api", "twilio"
SOURCES = (API, TWILIO)
INBOUND, OUTBOUND = "inbound", "outbound"  # only outbound calls are checked against DNC and calling hours
DIRECTIONS = (INBOUND, OUTBOUND)

# Routing moves pending → queued; completing moves in_progress → completed (with money).
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({QUEUED, CANCELED, FAILED}),
    QUEUED: frozenset({RINGING, CANCELED, FAILED, NO_ANSWER, BUSY}),
    RINGING: frozenset({IN_PROGRESS, CANCELED, FAILED, NO_ANSWER, BUSY}),
    IN_PROGRESS: frozenset({COMPLETED, FAILED}),
    COMPLETED: frozenset(), FAILED: frozenset(), CANCELED: frozenset(), NO_ANSWER: frozenset(), BUSY: frozenset(),
}


def ensure_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise InvalidState(f"A call cannot go from {current} to {target}")


# A call Twilio carries only moves forward, whatever order its callbacks arrive in.
_PROGRESS = {PENDING: 0, QUEUED: 1, RINGING: 2, IN_PROGRESS: 3}


def moves_forward(current: str, target: str) -> bool:
    """Whether a provider's event for `target` moves a call in `current` on: never backwards, never out of
    an ending (a "ringing" that arrives after "completed" is ignored)."""
    if current in ENDED:
        return False
    return target in ENDED or _PROGRESS[target] > _PROGRESS[current]


def talk_seconds_affordable(payout: int, buyer_available: int, rate_per_minute: int, cap_seconds: int) -> int:
    """The talk time the buyer can pay for at the telephony rate: the call's payout first, then what the
    buyer's account may still spend, in whole started minutes (so a call is cut before it costs more)."""
    if rate_per_minute <= 0:
        return cap_seconds
    minutes = max(0, payout + max(0, buyer_available)) // rate_per_minute
    return min(cap_seconds, minutes * 60)


def telephony_cost(duration_seconds: int, rate_per_minute: int) -> int:
    """Every started minute is paid."""
    return math.ceil(duration_seconds / 60) * rate_per_minute


def platform_take(price: int, take_rate_bps: int) -> int:
    """The platform's share of a price, rounded down: the buyer never earns less than promised."""
    return price * take_rate_bps // 10_000

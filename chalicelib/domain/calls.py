"""The call lifecycle as one explicit state machine, and what a completed call costs."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from chalicelib.domain.errors import InvalidState

PENDING, QUEUED, RINGING, IN_PROGRESS, COMPLETED = "pending", "queued", "ringing", "in_progress", "completed"
FAILED, CANCELED, NO_ANSWER, BUSY = "failed", "canceled", "no_answer", "busy"
# A routed call that never ended within its bound (or that an admin ended by hand): its hold went back.
EXPIRED = "expired"
STATUSES = (PENDING, QUEUED, RINGING, IN_PROGRESS, COMPLETED, FAILED, CANCELED, NO_ANSWER, BUSY, EXPIRED)
UNDELIVERED = frozenset({FAILED, CANCELED, NO_ANSWER, BUSY, EXPIRED})  # endings in which nobody is billed
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
    EXPIRED: frozenset(),  # only the hold job and admins expire a call (services/holds.py), never its buyer
}
ROUTED = frozenset({QUEUED, RINGING, IN_PROGRESS})  # a seller's price is held (or its ring tree is between sellers)


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


# A call's recording, as Twilio's recordingStatusCallback states it: in progress, then one final status.
RECORDING_COMPLETED = "completed"
_RECORDING_PROGRESS = {"in-progress": 0, RECORDING_COMPLETED: 1, "absent": 1, "failed": 1}
RECORDING_STATUSES = tuple(_RECORDING_PROGRESS)


def recording_moves_forward(current: str | None, status: str) -> bool:
    """Whether a recording's status replaces the one stored: a known status, later than it (a repeated or
    late callback changes nothing; nothing replaces a final status)."""
    if status not in _RECORDING_PROGRESS:
        return False
    return current is None or _RECORDING_PROGRESS[status] > _RECORDING_PROGRESS.get(current, -1)


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


def payout(price: int, take_rate_bps: int) -> int:
    """What the buyer earns from a call's price before its telephony: the price less the platform's take."""
    return price - platform_take(price, take_rate_bps)


def telephony_split(payout_amount: int, cost: int) -> tuple[int, int]:
    """Who pays a call's telephony cost: (from the payout, from the buyer's balance). The payout pays
    first; the balance pays only what the payout cannot cover."""
    from_payout = min(cost, max(0, payout_amount))
    return from_payout, cost - from_payout


def balance_needed_for_a_minute(payout_amount: int, rate_per_minute: int) -> int:
    """What a buyer's account must still be able to spend for a call to be routed: the part of one minute
    of telephony that the call's payout cannot pay (0 when the payout covers a minute)."""
    return telephony_split(payout_amount, rate_per_minute)[1]


def lifecycle_times(target: str, now: datetime) -> dict[str, datetime]:
    """A call starts when it goes in progress and ends when it reaches any ending."""
    if target == IN_PROGRESS:
        return {"started_at": now}
    if target in ENDED:
        return {"ended_at": now}
    return {}


# Twilio ends a call within its Dial's timeLimit; past that and this grace, a live call's hold is overdue.
HOLD_GRACE = timedelta(minutes=5)


def live_hold_due(rung_at: datetime, ring_seconds: int, time_limit: int) -> datetime:
    """When a live call's hold is overdue: its seller's phone rang, then talked as long as the Dial allowed."""
    return rung_at + timedelta(seconds=ring_seconds + time_limit) + HOLD_GRACE


def reported_hold_due(routed_at: datetime, ttl_hours: int) -> datetime:
    """When a call its buyer reported through the API and never ended is overdue."""
    return routed_at + timedelta(hours=ttl_hours)

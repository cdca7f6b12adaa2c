"""Account status rules."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.errors import Forbidden

ACTIVE, SUSPENDED, DEACTIVATED = "active", "suspended", "deactivated"
STATUSES = (ACTIVE, SUSPENDED, DEACTIVATED)
BUYER, SELLER, ADMIN = "buyer", "seller", "admin"
ACCOUNT_TYPES = (BUYER, SELLER, ADMIN)


def effective_status(status: str, suspended_until: datetime | None, now: datetime) -> str:
    """A timed suspension is over at its end, even before the scheduled job writes that down."""
    if status == SUSPENDED and suspended_until is not None and suspended_until <= now:
        return ACTIVE
    return status


def suspension_end(now: datetime, duration_days: int | None) -> datetime | None:
    return now + timedelta(days=duration_days) if duration_days else None


def ensure_may_act(status: str) -> None:
    """Suspended or deactivated accounts may not log in or call the API."""
    if status == SUSPENDED:
        raise Forbidden("Account is suspended", code="ACCOUNT_SUSPENDED")
    if status == DEACTIVATED:
        raise Forbidden("Account is deactivated", code="ACCOUNT_DEACTIVATED")

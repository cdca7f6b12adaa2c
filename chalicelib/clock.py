"""Time comes from here, so tests can move it instead of sleeping."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

_now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)


def now() -> datetime:
    return _now()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Install a clock (tests); None restores the real one."""
    global _now
    _now = fn or (lambda: datetime.now(timezone.utc))

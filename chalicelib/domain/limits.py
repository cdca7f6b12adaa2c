"""Rate limits as rules: which limits a request counts against, fixed windows, and what the answer says."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from chalicelib.domain.errors import RateLimited

if TYPE_CHECKING:
    from chalicelib.config import Settings

WINDOW_SECONDS = 60

# The limits a route may declare. USER: every authenticated request, per user. AUTH: the unauthenticated
# identity routes, per client IP. NUMBER_SEARCH and PURCHASE: per user, counted with USER in the same item.
# RTB_PINGS: a buyer's inbound pings, machine to machine, counted apart from USER in the same item (its limit is
# the higher one a bidding partner needs).
USER, AUTH, NUMBER_SEARCH, PURCHASE, RTB_PINGS = "user", "auth", "number_search", "purchase", "rtb_pings"


@dataclass(frozen=True)
class Window:
    start: int  # epoch seconds
    seconds: int

    @property
    def reset(self) -> int:
        return self.start + self.seconds

    def retry_after(self, now: datetime) -> int:
        return max(1, self.reset - int(now.timestamp()))

    @property
    def purge_at(self) -> datetime:
        """When DynamoDB may delete the window's item: a window after it ends."""
        return datetime.fromtimestamp(self.reset + self.seconds, tz=timezone.utc)


def window(now: datetime, seconds: int = WINDOW_SECONDS) -> Window:
    timestamp = int(now.timestamp())
    return Window(timestamp - timestamp % seconds, seconds)


def counted(limit: str) -> tuple[str, ...]:
    """The counters (RateCounterModel attributes) a request under `limit` adds one to."""
    if limit in (NUMBER_SEARCH, PURCHASE):
        return ("hits", limit)
    if limit == RTB_PINGS:
        return (RTB_PINGS,)
    return ("hits",)


def maximum(settings: Settings, counter: str, limit: str) -> int:
    if counter == NUMBER_SEARCH:
        return settings.number_search_rate_limit_per_minute
    if counter == PURCHASE:
        return settings.purchase_rate_limit_per_minute
    if counter == RTB_PINGS:
        return settings.rtb_pings_per_minute
    return settings.auth_rate_limit_per_minute if limit == AUTH else settings.rate_limit_per_minute


def counter_key(limit: str, subject: str, current: Window) -> str:
    scope = "ip" if limit == AUTH else "user"
    return f"{scope}#{subject}#{current.start}"


@dataclass(frozen=True)
class Quota:
    limit: int
    used: int
    window: Window

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
                "X-RateLimit-Reset": str(self.window.reset)}


def tightest(quotas: list[Quota]) -> Quota:
    """The quota the answer reports: an exceeded one first, else the one with the least left."""
    return min(quotas, key=lambda q: (not q.exceeded, q.limit - q.used))


def refusal(quota: Quota, now: datetime) -> RateLimited:
    return RateLimited("Too many requests; try again later", code="RATE_LIMITED",
                       headers={**quota.headers(), "Retry-After": str(quota.window.retry_after(now))})

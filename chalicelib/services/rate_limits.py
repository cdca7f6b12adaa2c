"""Counting a request against its rate limits: one UpdateItem (an atomic ADD that answers the new counts), so
the limit is exact however many Lambda containers serve the subject."""
from __future__ import annotations

import hashlib

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.domain import limits
from chalicelib.persistence import rate_counters


def subject_of_ip(client_ip: str | None) -> str:
    """Client IPs are kept only as a digest (personal data has no business in a counter table)."""
    return hashlib.sha256((client_ip or "unknown").encode()).hexdigest()[:32]


def check(limit: str, subject: str) -> limits.Quota:
    """Counts this request; raises RateLimited (429, with Retry-After) over the limit. The quota's headers
    go on the answer either way."""
    settings, now = get_settings(), clock.now()
    current = limits.window(now)
    counts = rate_counters.count(limits.counter_key(limit, subject, current), limits.counted(limit), current.purge_at)
    quota = limits.tightest([limits.Quota(limits.maximum(settings, name, limit), used, current)
                             for name, used in counts.items()])
    if quota.exceeded:
        raise limits.refusal(quota, now)
    return quota

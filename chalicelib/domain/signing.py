"""Signatures of what the exchange sends to its users' servers (webhooks, RTB pings), in Stripe's scheme:
`X-Exchange-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed by the secret string
exactly as it was shown (UTF-8). The timestamp is signed too, so a receiver that checks it refuses a replay
of an old request; the README shows the five lines a receiver needs."""
from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "X-Exchange-Signature"
TOLERANCE_SECONDS = 300  # what `verify` accepts by default: Stripe's five minutes


def new_secret(prefix: str = "whsec_") -> str:
    """A signing secret (shown to its owner once)."""
    return prefix + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def header(secret: str, body: bytes, timestamp: int) -> str:
    """The X-Exchange-Signature value of `body` sent at `timestamp`."""
    return f"t={timestamp},v1={signature(secret, body, timestamp)}"


def verify(secret: str, body: bytes, value: str | None, now: int, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """Whether `value` (a header) signs `body` with `secret`, sent within `tolerance` seconds of `now`."""
    parts = dict(part.split("=", 1) for part in (value or "").split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, body, timestamp))

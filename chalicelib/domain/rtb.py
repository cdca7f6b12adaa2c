"""Real-time bidding's rules as plain functions: what a seller's bidding server is sent and what counts as its
bid (outbound), and what an inbound ping is answered when nobody bids (the no-bid codes)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from chalicelib.domain import phones, terms
from chalicelib.domain.money import MINOR_PER_UNIT

MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, DEFAULT_TIMEOUT_MS = 50, 2000, 1000
MAX_BID = 10_000 * MINOR_PER_UNIT  # a bid above $10,000 is no bid a call is worth: malformed

# What became of one ping of a seller's bidder (a routing log shows it).
BID, NO_BID, TIMEOUT, ERROR = "bid", "no_bid", "timeout", "error"
PING_OUTCOMES = (BID, NO_BID, TIMEOUT, ERROR)
PINGED = "pinged"  # a routing log entry's outcome for a ping

# Why an inbound ping gets no bid.
NO_MATCH, CLOSED, CAPPED, BLOCKED, DUPLICATE, RATE_LIMITED = (
    "no_match", "closed", "capped", "blocked", "duplicate", "rate_limited")
REJECT_REASONS = (NO_MATCH, CLOSED, CAPPED, BLOCKED, DUPLICATE, RATE_LIMITED)

# A reservation's life: live (its price held), then used (the call came) or released (it expired).
LIVE, USED, RELEASED = "live", "used", "released"


@dataclass(frozen=True)
class Answer:
    outcome: str  # BID, NO_BID or ERROR
    price: int | None = None  # minor units
    destination_number: str | None = None
    bid_id: str | None = None


def ping_body(profile_id: str, call_id: str, state: str | None, zip_code: str | None, call_type: str | None,
              keywords: tuple[str, ...], caller: str | None) -> bytes:
    """What a bidder is told of a call: never the caller's number unless its profile asks for it."""
    body: dict[str, Any] = {"call_id": call_id, "profile_id": profile_id, "state": state, "zip": zip_code,
                            "call_type": call_type, "keywords": list(keywords)}
    if caller:
        body["caller_id"] = caller
    return json.dumps(body, separators=(",", ":")).encode()


def parse_answer(status: int | None, body: bytes) -> Answer:
    """A bidder's answer: `{"bid_amount", "destination_number"?, "bid_id"?}` with a 2xx status. bid_amount 0 is
    no bid; anything else that is not a positive amount in whole cents, or a destination that is not an E.164
    number, is an error (no bid either)."""
    if status is None or not 200 <= status < 300:
        return Answer(ERROR)
    try:
        parsed = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return Answer(ERROR)
    if not isinstance(parsed, dict) or isinstance(parsed.get("bid_amount"), bool):
        return Answer(ERROR)
    try:
        amount = Decimal(str(parsed.get("bid_amount")))
    except InvalidOperation:
        return Answer(ERROR)
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        return Answer(ERROR)
    price = int(amount * MINOR_PER_UNIT)
    if price == 0:
        return Answer(NO_BID)
    if price > MAX_BID:
        return Answer(ERROR)
    destination = parsed.get("destination_number")
    if destination is not None and (not isinstance(destination, str) or phones.canonical_e164(destination) is None):
        return Answer(ERROR)
    bid_id = parsed.get("bid_id")
    bid_id = str(bid_id)[:100] if isinstance(bid_id, (str, int)) and not isinstance(bid_id, bool) else None
    return Answer(BID, price, phones.canonical_e164(destination) if destination else None, bid_id)


def log_entry(profile_id: str, seller_id: str, outcome: str, elapsed_ms: int, answer: Answer | None = None) -> dict:
    """A routing log's record of one ping: the profile, what its bidder answered, and how long it took."""
    return {"profile_id": profile_id, "seller_id": seller_id, "outcome": PINGED, "reason": None,
            "ping": {"result": outcome, "elapsed_ms": elapsed_ms,
                     "bid_amount": answer.price if answer and answer.outcome == BID else None,
                     "bid_id": answer.bid_id if answer else None}}


def reject_reason(reasons: list[str | None]) -> str:
    """The no-bid code for the reasons the matching profiles were passed over (none matched: no_match). A
    profile closed now, at a cap or blocking the caller says so; any other reason (budget, funds) is
    no_match."""
    found = [reason for reason in reasons if reason]
    if not found:
        return NO_MATCH
    for code, test in ((BLOCKED, lambda r: r == terms.BLOCKED), (CLOSED, lambda r: r == terms.CLOSED),
                       (CAPPED, lambda r: r.startswith("capped:") or r == terms.BUDGET)):
        if found and all(test(reason) or reason == terms.NOT_MATCHING for reason in found) \
                and any(test(reason) for reason in found):
            return code
    return NO_MATCH


def pool_number_for(caller: str, pool: list[str]) -> str:
    """The pool number a caller's bid sends it to: spread over the pool by the caller (any number of the pool
    serves any caller: a caller has one live reservation at most)."""
    ordered = sorted(pool)
    return ordered[int(hashlib.sha256(caller.encode()).hexdigest(), 16) % len(ordered)]


"""Who gets a call: auction winners and instant routing, as pure functions over candidates."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CallFacts:
    country: str | None
    state: str | None
    call_type: str | None
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    profile_id: str
    seller_id: str
    bid_amount: int
    created_at: datetime
    countries: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    call_types: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    budget_left: int | None = None  # today's max_budget minus what was spent; None = no cap


def matches(candidate: Candidate, call: CallFacts) -> bool:
    """Empty criteria match everything; given ones must all hold."""
    if candidate.countries and call.country not in candidate.countries:
        return False
    if candidate.states and call.state not in candidate.states:
        return False
    if candidate.call_types and call.call_type not in candidate.call_types:
        return False
    if candidate.keywords and not set(k.lower() for k in candidate.keywords) & set(k.lower() for k in call.keywords):
        return False
    return True


def affordable(candidate: Candidate) -> bool:
    return candidate.budget_left is None or candidate.budget_left >= candidate.bid_amount


def choose(candidates: list[Candidate], call: CallFacts, buyer_id: str | None = None) -> Candidate | None:
    """Highest bid among matching candidates with budget left, never the buyer's own profiles (a call
    is not sold to the account that brought it); ties go to the older profile, then the smaller id, so
    the same inputs always pick the same winner."""
    eligible = [c for c in candidates if c.seller_id != buyer_id and matches(c, call) and affordable(c)]
    return min(eligible, key=lambda c: (-c.bid_amount, c.created_at, c.profile_id), default=None)


@dataclass(frozen=True)
class StandingBid:
    seller_id: str
    profile_id: str
    amount: int
    placed_at: datetime


def auction_winner(bids: list[StandingBid], reserve_price: int) -> StandingBid | None:
    """Highest valid bid (at or above reserve) wins; ties go to the earlier bid."""
    valid = [b for b in bids if b.amount >= reserve_price]
    return min(valid, key=lambda b: (-b.amount, b.placed_at, b.seller_id), default=None)

"""Who gets a call: auction winners and instant routing, as pure functions over candidates."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator

from chalicelib.domain import terms


@dataclass(frozen=True)
class CallFacts:
    country: str | None
    state: str | None
    call_type: str | None
    keywords: tuple[str, ...] = ()
    verified: bool = False  # carried by the telephony provider (a live call), not reported by its buyer
    caller: str | None = None  # the caller's number (from_number), for blocked callers; never shown to sellers


@dataclass(frozen=True)
class Candidate:
    profile_id: str
    seller_id: str
    bid_amount: int | None  # None: the profile bids in auctions only, and instant routing never picks it
    created_at: datetime
    countries: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    call_types: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    budget_left: int | None = None  # today's max_budget minus what was spent; None = no cap
    verified_only: bool = False  # takes only calls the telephony provider carried
    terms: dict | None = None  # the profile's (domain/terms.py)
    usage: dict | None = None  # its cap counts now, by cap ({"concurrency", "hourly", ...}); None: not capped


def matches(candidate: Candidate, call: CallFacts) -> bool:
    """Empty criteria match everything. Only what the call states can exclude a profile: a call with no
    call_type matches profiles that target call types, and a call with no keywords matches profiles that
    target keywords; a call that states them must have one of the profile's call types and share one of
    its keywords (any case). Geography is where the call comes from: a profile that targets countries or
    states gets only calls known to come from one of them (a call's country and state come from its
    number, and instant routing reads by them: `call_keys`). A verified_only profile takes only calls the
    telephony provider carried, never ones a buyer reports through the API."""
    if candidate.verified_only and not call.verified:
        return False
    if candidate.countries and call.country not in candidate.countries:
        return False
    if candidate.states and call.state not in candidate.states:
        return False
    if candidate.call_types and call.call_type and call.call_type not in candidate.call_types:
        return False
    if candidate.keywords and call.keywords and \
            not set(k.lower() for k in candidate.keywords) & set(k.lower() for k in call.keywords):
        return False
    return True


def routable(bid_amount: object, destination_number: object) -> bool:
    """Instant routing and live calls need a profile's price (bid_amount) and a number to ring
    (destination_number); a profile without either bids in auctions only."""
    return bid_amount is not None and bool(destination_number)


def affordable(candidate: Candidate) -> bool:
    if candidate.bid_amount is None:
        return False
    return candidate.budget_left is None or candidate.budget_left >= candidate.bid_amount


# --- where instant routing looks: "<country or *>#<state or *>" keys -------------------------------

ANY = "*"
MAX_DUPLICATE_WINDOW_HOURS = 720  # a profile's longest duplicate_window_hours (30 days)


def call_keys(call: CallFacts) -> list[str]:
    """The keys a call reads: its country and its state, each as stated or as the wildcard (4 keys for a
    call from US/CA, 2 for a call with a country and no state)."""
    countries = (call.country, ANY) if call.country else (ANY,)
    states = (call.state, ANY) if call.state else (ANY,)
    return [f"{country}#{state}" for country in countries for state in states]


def profile_keys(countries: tuple[str, ...] | list[str], states: tuple[str, ...] | list[str],
                 state_codes: Callable[[str | None], frozenset[str]]) -> set[str]:
    """The keys a profile's geography is found under: one per (country, state) it targets, a wildcard for
    a criterion left empty. `state_codes(country)` are the states a call from that country can have
    (any country's with None), as phones.state_of gives them: a pair that no call can state (a state of
    another country, an unknown code) is left out. So a call reads a profile (under one of its
    call_keys) exactly when `matches` holds for the profile's geography, and a profile has at most one
    key per state it lists, or per country without states."""
    if countries and states:
        return {f"{country}#{state}" for country in countries for state in states if state in state_codes(country)}
    if states:
        known = state_codes(None)
        return {f"{ANY}#{state}" for state in states if state in known}
    if countries:
        return {f"{country}#{ANY}" for country in countries}
    return {f"{ANY}#{ANY}"}


def passed_over(candidate: Candidate, call: CallFacts, now: datetime) -> str | None:
    """Why the candidate may not take the call now, or None: the first of its `reasons_against`."""
    return next(_reasons(candidate, call, now), None)


def reasons_against(candidate: Candidate, call: CallFacts, now: datetime) -> list[str]:
    """Every reason (domain/terms.py's words) the candidate may not take the call now: its criteria, its
    hours, its blocked callers, its budget for the day, then each cap it is at."""
    return list(_reasons(candidate, call, now))


def _reasons(candidate: Candidate, call: CallFacts, now: datetime) -> Iterator[str]:
    if not matches(candidate, call):
        yield terms.NOT_MATCHING
    stated = candidate.terms  # most profiles state no terms: only their criteria and budget are judged
    if stated and not terms.is_open(stated, now):
        yield terms.CLOSED
    if stated and terms.blocks(stated.get("blocked_callers"), call.caller):
        yield terms.BLOCKED
    if not affordable(candidate):
        yield terms.BUDGET
    if stated and candidate.usage:
        yield from (terms.capped(cap) for cap in terms.reached(stated, candidate.usage))


def routing_order(candidate: Candidate) -> tuple:
    """The highest bid first, ties to the older profile, then the smaller id: the same inputs always give
    the same order."""
    return -candidate.bid_amount, candidate.created_at, candidate.profile_id


def considered(candidates: list[Candidate], call: CallFacts, now: datetime,
               buyer_id: str | None = None) -> list[tuple[Candidate, str | None]]:
    """The candidates instant routing and a live call's ring tree consider, in the order they try them,
    each with why it is passed over (None: it may take the call); bench/routing.py measures it over
    1,000 and 10,000 matching ones. Never the buyer's own profiles (a call
    is not sold to the account that brought it), nor one that bids in auctions only."""
    ordered = sorted((c for c in candidates if c.seller_id != buyer_id and c.bid_amount is not None), key=routing_order)
    return [(c, passed_over(c, call, now)) for c in ordered]


@dataclass(frozen=True)
class StandingBid:
    seller_id: str
    profile_id: str
    amount: int
    placed_at: datetime


def auction_winner(bids: list[StandingBid], reserve_price: int) -> StandingBid | None:
    """Highest valid bid (at or above reserve) wins; ties go to the earlier bid."""
    return next(iter(auction_order(bids, reserve_price)), None)


def auction_order(bids: list, reserve_price: int) -> list:
    """The valid bids (at or above reserve), the winner first: when a winner can no longer pay, the call
    falls to the next. `bids` have amount, placed_at and seller_id."""
    valid = [b for b in bids if int(b.amount) >= reserve_price]
    return sorted(valid, key=lambda b: (-int(b.amount), b.placed_at, b.seller_id))

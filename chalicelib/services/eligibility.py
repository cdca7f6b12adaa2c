"""Would a bid profile take a call now, and if not, every reason why: what its seller asks when it gets
no calls (GET /bid-profiles/{id}/eligibility)."""
from __future__ import annotations

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.domain import phones, routing, terms
from chalicelib.persistence import cap_counters, route_entries
from chalicelib.services import bid_profiles, compliance, live_calls, sellers


def eligibility(principal: Principal, profile_id: str, from_number: str, to_number: str) -> dict:
    """A call from `from_number` to `to_number` (one of the exchange's numbers tells its call type, and a
    live call is one the telephony provider carries), judged now as routing would judge it: the
    profile's criteria and terms, its budget and caps, its seller's standing and funds, and the
    platform's blocked callers (whose calls are refused before any routing). An inactive
    profile is closed (suspended, when its seller's suspension paused it)."""
    profile = bid_profiles.get_profile(principal, profile_id)
    now = clock.now()
    number = live_calls.exchange_number(to_number)
    facts = routing.CallFacts(phones.country_of(from_number), phones.state_of(from_number),
                              number.call_type if number else None, verified=True, caller=from_number)
    price = 0 if profile.bid_amount is None else int(profile.bid_amount)  # auctions only: judged at no price
    budgeted = bid_profiles.budget_of(profile) is not None
    spent, usage = route_entries.at_once(
        (lambda: bid_profiles.spent_today([profile.profile_id], now)) if budgeted else None,
        (lambda: cap_counters.counts([profile], now)) if terms.caps_of(profile.terms) else None)
    candidate = bid_profiles.candidate(profile, (spent or {}).get(profile.profile_id, 0),
                                       (usage or {}).get(profile.profile_id), price)
    reasons = routing.reasons_against(candidate, facts, now)
    if terms.BLOCKED not in reasons and compliance.caller_blocked(from_number):  # refused everywhere
        reasons.append(terms.BLOCKED)
    if not profile.active:
        reasons.insert(0, terms.SUSPENDED if profile.paused else terms.CLOSED)
    verdicts, _ = sellers.judged([profile], lambda _: price, now)
    reasons += [reason for _, reason in verdicts if reason is not None]
    reasons = list(dict.fromkeys(reasons))
    return {"eligible": not reasons, "reasons": reasons}

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import calls, compliance, routing
from chalicelib.domain.errors import InvalidState
from chalicelib.domain.ledger import call_settlement

T0 = datetime(2026, 11, 2, 18, 0, tzinfo=timezone.utc)
CA_CALL = routing.CallFacts("US", "CA", "insurance", ("auto",))


def candidate(profile_id, bid, **kwargs):
    return routing.Candidate(profile_id, f"seller-{profile_id}", bid, kwargs.pop("created_at", T0), **kwargs)


def ranked_ones(candidates, call, buyer_id=None):
    """Those routing may give the call to, in the order it tries them."""
    return [c for c, reason in routing.considered(candidates, call, T0, buyer_id) if reason is None]


def best(candidates, call, buyer_id=None):
    """The candidate instant routing tries first."""
    ranked = ranked_ones(candidates, call, buyer_id)
    return ranked[0] if ranked else None


def test_highest_matching_bid_wins():
    chosen = best([candidate("a", 500), candidate("b", 900, states=("TX",)), candidate("c", 700)], CA_CALL)
    assert chosen.profile_id == "c"


def test_ties_go_to_the_older_profile_then_the_smaller_id():
    older = candidate("z", 500, created_at=T0 - timedelta(days=1))
    assert best([candidate("a", 500), older], CA_CALL).profile_id == "z"
    assert best([candidate("b", 500), candidate("a", 500)], CA_CALL).profile_id == "a"


@pytest.mark.parametrize("criteria, matches", [
    ({}, True), ({"countries": ("US",)}, True), ({"countries": ("CA",)}, False), ({"states": ("CA", "NV")}, True),
    ({"call_types": ("legal", "insurance")}, True), ({"call_types": ("legal",)}, False), ({"keywords": ("AUTO",)}, True),
    ({"keywords": ("home",)}, False),
])
def test_criteria(criteria, matches):
    assert routing.matches(candidate("a", 1, **criteria), CA_CALL) is matches


def test_a_call_is_never_sold_to_the_buyer_who_brought_it():
    highest, other = candidate("a", 900), candidate("b", 500)
    assert best([highest, other], CA_CALL, buyer_id=highest.seller_id).profile_id == "b"
    assert best([highest], CA_CALL, buyer_id=highest.seller_id) is None


def test_budget_left_today_limits_candidates():
    assert best([candidate("a", 500, budget_left=499)], CA_CALL) is None
    assert best([candidate("a", 500, budget_left=500)], CA_CALL).profile_id == "a"


def test_auction_winner_is_the_highest_at_or_above_reserve_earliest_on_ties():
    bids = [routing.StandingBid("s1", "p1", 400, T0), routing.StandingBid("s2", "p2", 500, T0 + timedelta(seconds=2)),
            routing.StandingBid("s3", "p3", 500, T0 + timedelta(seconds=1))]
    assert routing.auction_winner(bids, 300).seller_id == "s3"
    assert routing.auction_winner(bids, 501) is None


def test_the_lifecycle_allows_only_its_transitions():
    path = [calls.PENDING, calls.QUEUED, calls.RINGING, calls.IN_PROGRESS, calls.COMPLETED]
    for current, target in zip(path, path[1:]):
        calls.ensure_transition(current, target)
    for terminal in (calls.COMPLETED, calls.FAILED, calls.CANCELED, calls.NO_ANSWER, calls.BUSY):
        with pytest.raises(InvalidState):
            calls.ensure_transition(terminal, calls.QUEUED)
    with pytest.raises(InvalidState):
        calls.ensure_transition(calls.PENDING, calls.COMPLETED)


def test_money_of_a_call():
    assert calls.telephony_cost(0, 200) == 0 and calls.telephony_cost(1, 200) == 200
    assert calls.telephony_cost(61, 200) == 400
    assert calls.platform_take(100_000, 2_000) == 20_000
    billed = call_settlement("k", buyer_id="b", seller_id="s", price=100_000, take=20_000, cost=400, billable=True,
                             reference="c").net_change()
    # The telephony comes out of the payout (80,000) first: the buyer's balance pays nothing.
    assert billed == {("s", "held"): -100_000, ("b", "earnings"): 79_600, ("platform:revenue", "balance"): 20_000,
                      ("platform:telephony", "balance"): 400}
    # A payout smaller than the cost: all of it pays the telephony, the balance pays only the rest.
    short = call_settlement("k", buyer_id="b", seller_id="s", price=250, take=50, cost=600, billable=True,
                            reference="c").net_change()
    assert short == {("s", "held"): -250, ("platform:revenue", "balance"): 50, ("b", "balance"): -400,
                     ("platform:telephony", "balance"): 600}
    assert calls.payout(100_000, 2_000) == 80_000
    assert calls.telephony_split(80_000, 400) == (400, 0) and calls.telephony_split(200, 600) == (200, 400)
    assert calls.balance_needed_for_a_minute(160, 200) == 40 and calls.balance_needed_for_a_minute(200, 200) == 0
    unbilled = call_settlement("k", buyer_id="b", seller_id="s", price=100_000, take=20_000, cost=0, billable=False,
                               reference="c").net_change()
    assert unbilled == {("s", "held"): -100_000, ("s", "balance"): 100_000}  # the price goes back to the seller
    # An admin's call routed to its own profile: three different buckets, still one balanced posting.
    own = call_settlement("k", buyer_id="a", seller_id="a", price=100_000, take=20_000, cost=400, billable=True,
                          reference="c")
    assert sum(own.net_change().values()) == 0


def test_calling_window_in_the_callees_zone():
    assert compliance.callee_zone("+12125552671", "UTC").key == "America/New_York"
    assert compliance.callee_zone("+14155552671", "UTC").key == "America/Los_Angeles"
    late_ny = datetime(2026, 11, 3, 2, 30, tzinfo=timezone.utc)  # 21:30 New York
    kwargs = dict(direction="outbound", from_number="+14155552671", dnc=None, window=("08:00", "21:00"),
                  fallback_zone="UTC", restricted_states=set())
    assert compliance.check_call(to_number="+12125552671", now=late_ny, **kwargs).code == "TCPA_VIOLATION"
    assert compliance.check_call(to_number="+14155552671", now=late_ny, **kwargs) is None  # 18:30 in SF
    assert compliance.within_window(datetime(2026, 1, 1, 23, 30), "22:00", "06:00")  # windows over midnight


def test_rules_apply_in_order_dnc_first():
    refusal = compliance.check_call(direction="outbound", from_number="+14155552671", to_number="+12125552671",
                                    now=T0, dnc={"list_type": "federal"}, window=("08:00", "21:00"),
                                    fallback_zone="UTC", restricted_states={"CA"})
    assert refusal.code == "DNC_BLOCKED" and "federal" in refusal.reason
    inbound = compliance.check_call(direction="inbound", from_number="+14155552671", to_number="+12125552671",
                                    now=T0, dnc={"list_type": "federal"}, window=("08:00", "21:00"),
                                    fallback_zone="UTC", restricted_states={"CA"})
    assert inbound.code == "GEO_RESTRICTED"


# Only what a call states can exclude a profile (seed 003: calls that state no call_type or keywords).
UNSTATED = routing.CallFacts("US", "CA", None, ())


@pytest.mark.parametrize("criteria", [{"call_types": ("sales",)}, {"keywords": ("insurance", "finance")},
                                      {"call_types": ("sales",), "keywords": ("insurance",)}])
def test_a_call_that_states_no_call_type_or_keywords_matches_profiles_that_target_them(criteria):
    assert routing.matches(candidate("a", 1, **criteria), UNSTATED)
    assert not routing.matches(candidate("a", 1, states=("NY",), **criteria), UNSTATED)  # geography still counts


@pytest.mark.parametrize("call, matches", [
    (routing.CallFacts("US", "CA", "support", ()), False), (routing.CallFacts("US", "CA", "sales", ()), True),
    (routing.CallFacts("US", "CA", None, ("auto",)), False), (routing.CallFacts("US", "CA", None, ("FINANCE",)), True),
    (routing.CallFacts("US", "CA", "sales", ("auto",)), False),
])
def test_what_a_call_states_still_excludes_profiles_that_target_something_else(call, matches):
    assert routing.matches(candidate("a", 1, call_types=("sales",), keywords=("insurance", "finance")), call) is matches


def test_a_profile_without_a_bid_amount_is_never_chosen_or_ranked():
    auctions_only, priced = candidate("a", None), candidate("b", 100)
    assert best([auctions_only], CA_CALL) is None
    assert best([auctions_only, priced], CA_CALL).profile_id == "b"
    assert ranked_ones([auctions_only, priced], CA_CALL) == [priced]
    assert routing.routable(100, "+13125552671")
    assert not routing.routable(None, "+13125552671") and not routing.routable(100, None)

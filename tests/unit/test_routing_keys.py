"""Where instant routing looks: a call's keys find exactly the profiles whose geography matches it."""
import itertools
from datetime import datetime, timezone

import pytest

from chalicelib.domain import phones, routing

T0 = datetime(2026, 11, 2, 18, 0, tzinfo=timezone.utc)


def keys(countries=(), states=()):
    return routing.profile_keys(countries, states, phones.state_codes)


def test_a_call_reads_its_country_and_state_each_as_stated_or_any():
    assert routing.call_keys(routing.CallFacts("US", "CA", None)) == ["US#CA", "US#*", "*#CA", "*#*"]
    assert routing.call_keys(routing.CallFacts("GB", None, None)) == ["GB#*", "*#*"]
    assert routing.call_keys(routing.CallFacts(None, None, None)) == ["*#*"]


@pytest.mark.parametrize("countries, states, expected", [
    ((), (), {"*#*"}),
    (("US", "GB"), (), {"US#*", "GB#*"}),
    ((), ("CA", "NY"), {"*#CA", "*#NY"}),
    (("US", "CA"), ("CA", "ON"), {"US#CA", "CA#ON"}),  # California is in the US, Ontario in Canada
    (("CA",), ("CA",), set()),  # no call is from a Canadian number in California
    ((), ("ZZ",), set()),  # nor from a state that does not exist
    (("US",), ("PR",), set()),  # Puerto Rico's numbers are PR's, as phones.country_of says
])
def test_a_profile_is_under_one_key_per_country_and_state_pair_it_targets(countries, states, expected):
    assert keys(countries, states) == expected


def test_a_profile_has_at_most_one_key_per_state_or_country():
    every_state = sorted(phones.state_codes())
    assert len(keys(("US", "CA", "PR", "VI", "GU", "MP", "AS", "GB"), every_state)) == len(every_state) == 69
    assert len(keys((), every_state)) == 69


GEOGRAPHIES = [((), ()), (("US",), ()), (("CA",), ()), (("GB", "US"), ()), ((), ("CA",)), ((), ("ON", "NY")),
               (("US",), ("CA",)), (("US", "CA"), ("CA", "ON")), (("CA",), ("CA",)), (("PR",), ("PR",)),
               (("US",), ("PR", "TX")), ((), ("ZZ",))]
# What calls can state: a country and one of its states, or a country without one, or neither.
CALLS = [("US", "CA"), ("US", "NY"), ("US", "TX"), ("US", None), ("CA", "ON"), ("CA", None), ("PR", "PR"),
         ("GB", None), (None, None)]


@pytest.mark.parametrize("geography, call", list(itertools.product(GEOGRAPHIES, CALLS)))
def test_a_call_finds_a_profile_exactly_when_its_geography_matches(geography, call):
    countries, states = geography
    facts = routing.CallFacts(*call, call_type=None)
    profile = routing.Candidate("p", "s", 100, T0, countries=countries, states=states)
    assert bool(keys(countries, states) & set(routing.call_keys(facts))) is routing.matches(profile, facts)
    assert len(keys(countries, states) & set(routing.call_keys(facts))) <= 1  # read once


def test_a_calls_state_is_always_one_of_its_countrys():
    for number in ("+14155552671", "+14165552671", "+17875552671", "+442071838750"):
        state = phones.state_of(number)
        assert state is None or state in phones.state_codes(phones.country_of(number))

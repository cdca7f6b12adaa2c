"""The state or province of a number, from phonenumbers' geocoder: for most North American ranges it knows
only the area code and describes the number by its state alone ("California"), not "City, ST"."""
import subprocess
import sys
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from chalicelib.domain import phones


@pytest.mark.parametrize("number, state", [
    ("+13105550000", "CA"),  # Los Angeles area: the geocoder says just "California"
    ("+19165550123", "CA"),  # Sacramento: "California"
    ("+14155552671", "CA"),  # "San Francisco, CA"
    ("+12125552671", "NY"),  # "New York, NY"
    ("+12125550123", "NY"),
    ("+12015550123", "NJ"),  # "New Jersey"
    ("+12065550123", "WA"),  # "Washington State"
    ("+12025550123", "DC"),  # "Washington D.C."
    ("+13055550123", "FL"),
    ("+17135550123", "TX"),
    ("+16045551234", "BC"),  # Vancouver: "British Columbia"
    ("+12505551234", "BC"),
    ("+14165551234", "ON"),  # Toronto: "Ontario"
    ("+15145551234", "QC"),  # Montreal: "Quebec"
    ("+17095551234", "NL"),  # "Newfoundland and Labrador"
    ("+17875551234", "PR"),  # Puerto Rico is a region of its own
    ("+16846331234", "AS"),  # American Samoa
])
def test_state_of_north_american_numbers(number, state):
    assert phones.state_of(number) == state


def test_every_geographic_us_number_has_a_state():
    """A sweep of every area code (a few fixed exchanges each), not a sample: before, only the ~14% the
    geocoder describes as "City, ST" had a state, so restrictions and profile states missed the rest."""
    geographic = {PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
    numbers = {"US": [], "CA": []}
    for area in range(200, 1000):
        for exchange in ("201", "555", "730", "863"):
            number = f"+1{area}{exchange}0123"
            parsed = phonenumbers.parse(number)
            region = phonenumbers.region_code_for_number(parsed)
            if phonenumbers.is_valid_number(parsed) and region in numbers \
                    and phonenumbers.number_type(parsed) in geographic:
                numbers[region].append(number)
    assert len(numbers["US"]) > 1000 and len(numbers["CA"]) > 150  # the sweep found what it sweeps
    assert [n for n in numbers["US"] if phones.state_of(n) is None] == []
    resolved = sum(phones.state_of(n) is not None for n in numbers["CA"]) / len(numbers["CA"])
    assert resolved > 0.9  # 902/782 and 867 span several provinces: no single one


@pytest.mark.parametrize("number", [
    "+18005550199",   # toll-free: no place
    "+19005550123",   # premium rate
    "+15005550123",   # personal communications (5XX)
    "+19025551234",   # "Nova Scotia/Prince Edward Island": one area code, two provinces
    "+447911123456",  # not North American
    "+995322123456",  # Georgia the country is not Georgia the state
    "+995555123456",
])
def test_state_of_is_none_when_the_number_names_no_single_state(number):
    assert phones.state_of(number) is None


def test_a_name_that_is_a_state_is_only_a_state_in_north_america():
    from phonenumbers import geocoder, parse

    assert geocoder.description_for_number(parse("+995555123456"), "en") == "Georgia"  # the premise
    assert phones.state_of("+995555123456") is None


def test_locality_is_a_place_not_a_state():
    assert phones.locality_of("+14155552671") == "San Francisco"
    assert phones.locality_of("+13105550000") is None  # the geocoder knows only "California"
    assert phones.locality_of("+14165551234") is None  # "Ontario"


def test_state_of_refuses_what_is_not_a_number():
    with pytest.raises(ValueError):
        phones.state_of("<script>alert(1)</script>")


def test_the_geocoder_is_not_loaded_by_importing_the_module():
    """Its data costs a cold start hundreds of milliseconds: loaded on first use only."""
    code = ("import sys; import chalicelib.domain.phones as p; "
            "assert 'phonenumbers.geocoder' not in sys.modules and 'phonenumbers.geodata' not in sys.modules; "
            "assert p.state_of('+13105550000') == 'CA'; assert 'phonenumbers.geocoder' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])

"""Phone numbers: E.164 only, valid per phonenumbers; region, type and time zone come from there too."""
from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers
from phonenumbers import PhoneNumberType

from chalicelib.domain.numbers import LOCAL, MOBILE, TOLL_FREE

# phonenumbers' geocoder and time-zone data cost ~350 ms to import: loaded on first use, not at cold start.

# ASCII digits only: \d (and str.isdigit) take any script's digits, which phonenumbers reads as ASCII ones, so
# "+1٢٠٢..." would be the number "+1202..." spelled another way and slip past every comparison.
E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
_E164 = re.compile(E164_PATTERN)


def parse_e164(value: object) -> phonenumbers.PhoneNumber:
    """The parsed number, or ValueError when it is not a valid E.164 number in ASCII digits."""
    if not isinstance(value, str) or not _E164.fullmatch(value):
        raise ValueError("not an E.164 number")
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return parsed


def canonical_e164(value: object) -> str | None:
    """The one spelling every number is stored and compared in (phonenumbers' E.164, e.g. "+442071234567" for
    "+4402071234567"), or None when `value` is not a valid number in ASCII E.164. Every phone number that
    enters (a body, a path, a query, a webhook) goes through here, so DNC entries, duplicate windows and
    claims never see two spellings of one number."""
    try:
        return phonenumbers.format_number(parse_e164(value), phonenumbers.PhoneNumberFormat.E164)
    except ValueError:
        return None


def is_e164(value: str) -> bool:
    return canonical_e164(value) is not None


# A number or the start of one, as a block list keeps it: "+" and 1 to 15 ASCII digits ("+44", "+1212").
NUMBER_OR_PREFIX_PATTERN = r"^\+[0-9]{1,15}$"
_NUMBER_OR_PREFIX = re.compile(r"\+[0-9]{1,15}")  # [0-9], not \d: "+١٢" is no number


def is_number_or_prefix(value: object) -> bool:
    return isinstance(value, str) and _NUMBER_OR_PREFIX.fullmatch(value) is not None


def prefixes(number: str) -> list[str]:
    """Every number or prefix that `number` equals or starts with, shortest first ("+1", "+12", ..., the
    number itself): the keys under which a list of numbers and prefixes is looked up, at most 15. Empty
    for what is not "+" and digits."""
    if not is_number_or_prefix(number):
        return []
    return [number[:end] for end in range(2, len(number) + 1)]


def longest_prefix_in(number: str, entries: Iterable[str]) -> str | None:
    """The longest of `entries` that `number` equals or starts with (the entry that matched it), or None."""
    return max((entry for entry in entries if number.startswith(entry)), key=len, default=None)


def country_of(value: str) -> str | None:
    return phonenumbers.region_code_for_number(parse_e164(value))


# The geocoder describes a North American number as "San Francisco, CA" where it knows the exchange,
# and by its state or province alone ("California", "Washington State", "British Colombia" [sic]) where
# it knows only the area code. Territories are regions of their own, described by their name.
_US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas",
    "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington", "WV": "West Virginia",
    "WI": "Wisconsin", "WY": "Wyoming",
    "PR": "Puerto Rico", "VI": "U.S. Virgin Islands", "GU": "Guam", "MP": "Northern Mariana Islands",
    "AS": "American Samoa",
}
_PROVINCES = {
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories", "NU": "Nunavut",
    "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec", "SK": "Saskatchewan", "YT": "Yukon",
}
# Regions whose numbers carry a state or province, and the codes each may have.
_CODES_BY_REGION = {"US": frozenset(_US_STATES) - {"PR", "VI", "GU", "MP", "AS"}, "CA": frozenset(_PROVINCES),
                    **{territory: frozenset({territory}) for territory in ("PR", "VI", "GU", "MP", "AS")}}
_CODE_BY_NAME = {
    **{name.casefold(): code for code, name in {**_US_STATES, **_PROVINCES}.items()},
    "washington state": "WA", "washington d.c.": "DC", "washington dc": "DC", "washington, d.c.": "DC",
    "british colombia": "BC", "québec": "QC", "newfoundland": "NL", "us virgin islands": "VI",
    "united states virgin islands": "VI",
}


def state_of(value: str) -> str | None:
    """US state (DC and territories included) or Canadian province of a number, as its two-letter code:
    "CA" from "San Francisco, CA" or from "California". None when the number does not tell one state:
    outside North America, non-geographic (toll-free, 5XX, 900) or an area code shared by several
    provinces ("Nova Scotia/Prince Edward Island")."""
    parsed = parse_e164(value)
    codes = _CODES_BY_REGION.get(phonenumbers.region_code_for_number(parsed))
    if codes is None:  # "Georgia" is a country too: only North American numbers have a state
        return None
    code = _state_in(_description(parsed))
    return code if code in codes else None


_EVERY_STATE = frozenset().union(*_CODES_BY_REGION.values())


def state_codes(country: str | None = None) -> frozenset[str]:
    """The states state_of() can give a number of `country` (empty for a country without states), or of
    any country when none is given. Each code belongs to one country only."""
    return _EVERY_STATE if country is None else _CODES_BY_REGION.get(country, frozenset())


def _state_in(description: str) -> str | None:
    _, comma, tail = description.rpartition(", ")
    if comma and len(tail) == 2 and tail.isalpha() and tail.isupper():
        return tail
    return _CODE_BY_NAME.get(description.strip().casefold())


def locality_of(value: str) -> str | None:
    """The place a number belongs to ("San Francisco" for +1 415 ...), when phonenumbers knows it; None
    when it knows only the state or province ("California" is not a locality)."""
    description = _describe(value)
    place, comma, tail = description.rpartition(", ")
    if comma:
        return place or None
    return None if not description or description.strip().casefold() in _CODE_BY_NAME else description


def _describe(value: str) -> str:
    return _description(parse_e164(value))


def _description(parsed: phonenumbers.PhoneNumber) -> str:
    from phonenumbers import geocoder  # lazily: see above

    return geocoder.description_for_number(parsed, "en")


def kind_of(value: str) -> str:
    """local | toll_free | mobile, as number stores sell them (domain/numbers.py KINDS)."""
    kind = phonenumbers.number_type(parse_e164(value))
    if kind == PhoneNumberType.TOLL_FREE:
        return TOLL_FREE
    if kind == PhoneNumberType.MOBILE:
        return MOBILE
    return LOCAL

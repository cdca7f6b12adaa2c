"""Phone numbers: E.164 only, valid per phonenumbers; region, type and time zone come from there too."""
from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberType

# phonenumbers' geocoder and time-zone data cost ~350 ms to import: loaded on first use, not at cold start.

E164_PATTERN = r"^\+[1-9]\d{1,14}$"
_E164 = re.compile(E164_PATTERN)


def parse_e164(value: str) -> phonenumbers.PhoneNumber:
    """The parsed number, or ValueError when it is not a valid E.164 number."""
    if not isinstance(value, str) or not _E164.fullmatch(value):
        raise ValueError("not an E.164 number")
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return parsed


def is_e164(value: str) -> bool:
    try:
        parse_e164(value)
        return True
    except ValueError:
        return False


def country_of(value: str) -> str | None:
    return phonenumbers.region_code_for_number(parse_e164(value))


def state_of(value: str) -> str | None:
    """US/CA state or province ("CA" from "San Francisco, CA"), when the number tells it."""
    description = _describe(value)
    _, _, state = description.rpartition(", ")
    return state if len(state) == 2 and state.isalpha() and state.isupper() else None


def locality_of(value: str) -> str | None:
    """The place a number belongs to ("San Francisco" for +1 415 ...), when phonenumbers knows it."""
    description = _describe(value)
    return description.rpartition(", ")[0] or description or None


def _describe(value: str) -> str:
    from phonenumbers import geocoder

    return geocoder.description_for_number(parse_e164(value), "en")


def kind_of(value: str) -> str:
    """local | toll_free | mobile, as number stores sell them."""
    kind = phonenumbers.number_type(parse_e164(value))
    if kind == PhoneNumberType.TOLL_FREE:
        return "toll_free"
    if kind == PhoneNumberType.MOBILE:
        return "mobile"
    return "local"

"""The numbers Twilio has for sale, and how a search filters them.

The stock is generated deterministically per (country, type, area code): the same numbers on every run,
each valid for `phonenumbers`, of its type and region, with locality and region from its geocoder. What the
account owns is not subtracted here (resources.py does that), so a released number is back in stock.
"""
from __future__ import annotations

import functools
import itertools
import random
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, geocoder

from chalicelib.domain import phones

# Number types as phonenumbers knows them, by the names this package uses ("local", "mobile", "toll_free").
PHONENUMBERS_TYPES = {
    "local": {PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE},
    "mobile": {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE},
    "toll_free": {PhoneNumberType.TOLL_FREE},
}
EXAMPLE_TYPES = {"local": PhoneNumberType.FIXED_LINE, "mobile": PhoneNumberType.MOBILE,
                 "toll_free": PhoneNumberType.TOLL_FREE}

# North America: Twilio sells local and toll-free numbers there, addressed by area code; no mobile.
NANP_COUNTRIES = {"US", "CA"}
TOLL_FREE_PREFIXES = ("800", "833", "844", "855", "866", "877", "888")
# Where a search without AreaCode looks (Twilio answers from all over the country).
DEFAULT_AREA_CODES = {
    "US": ("212", "213", "312", "415", "617", "206", "305", "404", "512", "702", "303", "615"),
    "CA": ("416", "604", "514", "403", "613", "204"),
}
NUMBERS_PER_BLOCK = 40  # numbers in stock per (country, type, area code)
GENERATION_ATTEMPTS = 2000


@dataclass(frozen=True)
class Block:
    """One slice of the stock: numbers of one type, in one country, in one area code (or none)."""
    country: str
    kind: str  # "local" | "mobile" | "toll_free"
    area_code: str | None = None


@dataclass(frozen=True)
class Available:
    phone_number: str
    friendly_name: str
    locality: str | None
    region: str | None

    def to_json(self, iso_country: str) -> dict[str, Any]:
        return {
            "friendly_name": self.friendly_name, "phone_number": self.phone_number, "lata": None,
            "locality": self.locality, "rate_center": self.locality.upper() if self.locality else None,
            "latitude": None, "longitude": None, "region": self.region, "postal_code": None,
            "iso_country": iso_country, "address_requirements": "none", "beta": False,
            "capabilities": {"voice": True, "SMS": True, "MMS": True, "fax": False},
        }


def friendly_name(number: phonenumbers.PhoneNumber) -> str:
    """Twilio formats North American numbers as "(415) 555-0100"; others stay in E.164."""
    if number.country_code == 1:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def place(number: phonenumbers.PhoneNumber) -> tuple[str | None, str | None]:
    """(locality, region) from the geocoder: "San Francisco, CA" or just "California" (region "CA",
    Twilio's abbreviation) in North America; elsewhere the description, with no region."""
    if number.country_code == 1:
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        return phones.locality_of(e164), phones.state_of(e164)
    return geocoder.description_for_number(number, "en") or None, None


def is_kind(number: phonenumbers.PhoneNumber, block: Block) -> bool:
    if not phonenumbers.is_valid_number(number):
        return False
    if phonenumbers.number_type(number) not in PHONENUMBERS_TYPES[block.kind]:
        return False
    # Toll-free numbers are shared by the whole of North America; other numbers have a country.
    return block.kind == "toll_free" or phonenumbers.region_code_for_number(number) == block.country


def nanp_candidates(area_code: str, rng: random.Random) -> Iterator[str]:
    for _ in range(GENERATION_ATTEMPTS):
        exchange = rng.randint(200, 999)
        if exchange % 100 == 11 or exchange == 555:  # N11 service codes; 555 is fictional
            continue
        yield f"+1{area_code}{exchange:03d}{rng.randint(0, 9999):04d}"


def national_candidates(block: Block, rng: random.Random) -> Iterator[str]:
    """Outside North America: vary the last digits of phonenumbers' example number of the type."""
    example = phonenumbers.example_number_for_type(block.country, EXAMPLE_TYPES[block.kind])
    if example is None:
        return
    national = phonenumbers.national_significant_number(example)
    for _ in range(GENERATION_ATTEMPTS):
        yield f"+{example.country_code}{national[:-4]}{rng.randint(0, 9999):04d}"


@functools.lru_cache(maxsize=None)
def stock(block: Block) -> tuple[Available, ...]:
    """The numbers Twilio has in this block, the same on every run (seeded by the block)."""
    rng = random.Random(f"{block.country}/{block.kind}/{block.area_code}")
    if block.area_code:
        candidates = nanp_candidates(block.area_code, rng)
    else:
        candidates = national_candidates(block, rng)
    with_city: dict[str, Available] = {}
    without_city: dict[str, Available] = {}
    for candidate in candidates:
        number = phonenumbers.parse(candidate)
        if not is_kind(number, block):
            continue
        # Mobile and toll-free numbers have no place (the geocoder names only the country).
        locality, region = place(number) if block.kind == "local" else (None, None)
        target = with_city if locality or block.kind != "local" else without_city
        target[candidate] = Available(candidate, friendly_name(number), locality, region)
        if len(with_city) >= NUMBERS_PER_BLOCK:
            break
    # Numbers with a known city first, as Twilio always knows the locality of its numbers.
    merged = {**with_city, **without_city}
    return tuple(merged.values())[:NUMBERS_PER_BLOCK]


def sells(country: str, kind: str) -> bool:
    if country in NANP_COUNTRIES:
        return kind in ("local", "toll_free")
    return phonenumbers.example_number_for_type(country, EXAMPLE_TYPES[kind]) is not None


def blocks_of(number: phonenumbers.PhoneNumber) -> list[Block]:
    """The blocks a number would be stocked in, were Twilio to sell it."""
    country = phonenumbers.region_code_for_number(number) or ""
    if number.country_code == 1:
        area_code = phonenumbers.national_significant_number(number)[:3]
        if area_code in TOLL_FREE_PREFIXES:
            return [Block("US", "toll_free", area_code)]
        return [Block(country, "local", area_code)]
    return [Block(country, kind) for kind in ("local", "mobile", "toll_free")]


def kind_of(phone_number: str) -> str:
    number = phonenumbers.parse(phone_number)
    for block in blocks_of(number):
        if is_kind(number, block):
            return block.kind
    return "local"


def interleave(groups: Iterable[Iterable[Available]]) -> Iterator[Available]:
    """Round-robin over area codes, so a search without one shows numbers from several."""
    for row in itertools.zip_longest(*groups):
        yield from (item for item in row if item is not None)


KEYPAD = {letter: digit for digit, letters in {
    "2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS", "8": "TUV", "9": "WXYZ",
}.items() for letter in letters}


def contains_pattern(pattern: str) -> re.Pattern[str]:
    """Twilio's Contains: digits, letters (keypad), `*` one digit, `%` any digits, `+` start, `$` end.

    Matched against the E.164 number without its "+".
    """
    anchored_start = pattern.startswith("+")
    anchored_end = pattern.endswith("$")
    body = pattern[1 if anchored_start else 0:len(pattern) - (1 if anchored_end else 0)]
    parts = []
    for char in body.upper():
        if char == "*":
            parts.append(r"\d")
        elif char == "%":
            parts.append(r"\d*")
        else:
            parts.append(re.escape(KEYPAD.get(char, char)))
    return re.compile(("^" if anchored_start else "") + "".join(parts) + ("$" if anchored_end else ""))

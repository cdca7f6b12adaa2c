"""A local, stateful emulator of the parts of Twilio's REST API (2010-04-01) that the product uses.

The real `twilio` SDK talks to it over HTTP (see `chalicelib.gateways.twilio_http.BaseUrlHttpClient`),
so tests and `make run` send the same requests, and get the same bodies and error codes, as
production does, without network or Twilio account. It behaves like Twilio, not like a mock of
the product:

- `AvailablePhoneNumbers/{Country}/{Local,TollFree,Mobile}.json` searches a stock of numbers that
  is generated deterministically per (country, type, area code); every number is valid for
  `phonenumbers`, of the right type and region, with locality and region from its geocoder.
- `IncomingPhoneNumbers.json` buys (a bought number leaves the stock, a released one returns) and
  lists; `IncomingPhoneNumbers/{Local,TollFree,Mobile}.json` does the same for one type;
  `IncomingPhoneNumbers/{Sid}.json` fetches, updates and releases.
- `Calls.json` creates an outbound call resource (no call is placed), `Calls/{Sid}.json` fetches it.
- HTTP Basic auth, Twilio's error body `{code, message, more_info, status}` and its error codes;
  the test-credential magic inputs for buying numbers (+15005550000, +15005550001, +15005550006,
  AreaCode 533 and 500) work with the emulator's ordinary credentials.

For tests: request counts per (method, kind) and injected faults (`inject_faults`), also over HTTP
for other processes: `POST /_emulator/faults`, `GET /_emulator/state`, `POST /_emulator/reset`.
Run alone: `python -m chalicelib.local.twilio_emulator --port 8020`.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import functools
import itertools
import json
import logging
import random
import re
import secrets
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, geocoder

from chalicelib.domain import phones

logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2  # shaped like a real SID, belongs to no one
DEFAULT_AUTH_TOKEN = "twilio-emulator-auth-token"

# Twilio's magic inputs for buying numbers with test credentials (twilio.com/docs/iam/test-credentials).
MAGIC_UNAVAILABLE = "+15005550000"  # 21422
MAGIC_INVALID = "+15005550001"  # 21421
MAGIC_AVAILABLE = "+15005550006"  # bought every time it is asked for
MAGIC_EMPTY_AREA_CODE = "533"  # 21452
MAGIC_AREA_CODE = "500"  # buys MAGIC_AVAILABLE

# Kinds of request, for counts and fault targeting.
AVAILABLE_PHONE_NUMBERS = "available_phone_numbers"
INCOMING_PHONE_NUMBERS = "incoming_phone_numbers"
INCOMING_PHONE_NUMBER = "incoming_phone_number"
CALLS = "calls"
CALL = "call"
UNKNOWN = "unknown"

# Number types, as the URL spells them and as this module names them.
URL_TYPES = {"Local": "local", "TollFree": "toll_free", "Mobile": "mobile"}
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
SEARCH_FILTERS = ("AreaCode", "Contains", "InRegion", "InLocality")
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50

# Settings a buyer may give on purchase and change later: form name -> resource field.
SETTABLE = ("FriendlyName", "ApiVersion", "VoiceUrl", "VoiceMethod", "VoiceFallbackUrl",
            "VoiceFallbackMethod", "VoiceCallerIdLookup", "VoiceApplicationSid", "VoiceReceiveMode",
            "StatusCallback", "StatusCallbackMethod", "SmsUrl", "SmsMethod", "SmsFallbackUrl",
            "SmsFallbackMethod", "SmsApplicationSid", "TrunkSid", "EmergencyStatus",
            "EmergencyAddressSid", "AddressSid", "IdentitySid", "BundleSid")
URL_SETTINGS = {"VoiceUrl", "VoiceFallbackUrl", "StatusCallback", "SmsUrl", "SmsFallbackUrl"}
METHOD_SETTINGS = {"VoiceMethod", "VoiceFallbackMethod", "StatusCallbackMethod", "SmsMethod",
                   "SmsFallbackMethod"}
# What a new number looks like before it is configured (as in Twilio's examples).
DEFAULT_SETTINGS = {
    "api_version": API_VERSION, "voice_url": "", "voice_method": "POST", "voice_fallback_url": None,
    "voice_fallback_method": "POST", "voice_caller_id_lookup": False, "voice_application_sid": "",
    "voice_receive_mode": "voice", "status_callback": "", "status_callback_method": "POST",
    "sms_url": "", "sms_method": "POST", "sms_fallback_url": "", "sms_fallback_method": "POST",
    "sms_application_sid": "", "trunk_sid": None, "emergency_status": "Inactive",
    "emergency_address_sid": None, "address_sid": None, "identity_sid": None, "bundle_sid": None,
}

# Messages for the codes the fault injector is usually asked for (Twilio's error dictionary).
FAULT_MESSAGES = {20429: "Too Many Requests", 20500: "Internal Server Error",
                  20503: "Service Unavailable", 20005: "Account not active",
                  10001: "Account is not active"}


# --- errors -----------------------------------------------------------------------------------

class TwilioError(Exception):
    """An error answered the way Twilio answers it."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}", "status": self.status}


def not_found(path: str) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


def bad_request(code: int, message: str) -> TwilioError:
    return TwilioError(400, code, message)


# --- the stock of numbers for sale -----------------------------------------------------------

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


def wildcard_pattern(pattern: str) -> re.Pattern[str]:
    """IncomingPhoneNumbers' PhoneNumber filter: a partial number, `*` standing for any digit."""
    return re.compile("".join(r"\d" if char == "*" else re.escape(char) for char in pattern))


# --- the account's numbers and calls ---------------------------------------------------------

def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def rfc2822(moment: datetime) -> str:
    return format_datetime(moment)  # "Mon, 02 Nov 2026 15:00:00 +0000", as Twilio writes dates


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass
class OwnedNumber:
    sid: str
    phone_number: str
    kind: str
    date_created: datetime
    date_updated: datetime
    settings: dict[str, Any]

    def to_json(self, account_sid: str) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{account_sid}/IncomingPhoneNumbers/{self.sid}.json"
        return {
            "account_sid": account_sid, "sid": self.sid, "phone_number": self.phone_number,
            **self.settings,
            "address_requirements": "none", "beta": False, "origin": "twilio", "status": "in-use",
            "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
            "emergency_address_status": "unregistered",
            "date_created": rfc2822(self.date_created), "date_updated": rfc2822(self.date_updated),
            "uri": uri, "subresource_uris": {"assigned_add_ons": uri[:-5] + "/AssignedAddOns.json"},
        }


@dataclass
class Fault:
    """The next `remaining` requests matching method and kind fail with this status and code."""
    status: int
    code: int
    remaining: int
    method: str | None = None
    kind: str | None = None
    message: str | None = None

    def matches(self, method: str, kind: str) -> bool:
        return (self.method in (None, method)) and (self.kind in (None, kind))

    def error(self) -> TwilioError:
        message = self.message or FAULT_MESSAGES.get(self.code, "Injected fault")
        return TwilioError(self.status, self.code, message)


@dataclass
class EmulatorState:
    owned: dict[str, OwnedNumber] = field(default_factory=dict)  # by SID, in order of purchase
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)  # (method, kind) -> requests served

    def owned_phone_numbers(self) -> set[str]:
        return {number.phone_number for number in self.owned.values()}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    authorization: str | None = None


# --- routing -----------------------------------------------------------------------------------

ACCOUNT_PATH = re.compile(rf"/{API_VERSION}/Accounts/(?P<account>[^/]+)/(?P<rest>.+)")
ROUTES = [  # (pattern of the path after the account, kind, {method: handler name})
    (re.compile(r"AvailablePhoneNumbers/(?P<country>[^/]+)/(?P<url_type>Local|TollFree|Mobile)\.json"),
     AVAILABLE_PHONE_NUMBERS, {"GET": "search"}),
    (re.compile(r"IncomingPhoneNumbers(?:/(?P<url_type>Local|TollFree|Mobile))?\.json"),
     INCOMING_PHONE_NUMBERS, {"GET": "list_numbers", "POST": "buy"}),
    (re.compile(r"IncomingPhoneNumbers/(?P<sid>PN[0-9a-fA-F]{32})\.json"),
     INCOMING_PHONE_NUMBER, {"GET": "fetch_number", "POST": "update_number", "DELETE": "release_number"}),
    (re.compile(r"Calls\.json"), CALLS, {"POST": "create_call"}),
    (re.compile(r"Calls/(?P<sid>CA[0-9a-fA-F]{32})\.json"), CALL, {"GET": "fetch_call"}),
]


def route(path: str) -> tuple[str | None, str, dict[str, str] | None, dict[str, str]]:
    """(account SID in the URL, kind, {method: handler}, path parameters)."""
    match = ACCOUNT_PATH.fullmatch(path)
    if not match:
        return None, UNKNOWN, None, {}
    for pattern, kind, handlers in ROUTES:
        found = pattern.fullmatch(match["rest"])
        if found:
            params = {name: value for name, value in found.groupdict().items() if value is not None}
            return match["account"], kind, handlers, params
    return match["account"], UNKNOWN, None, {}


def page_size_of(query: dict[str, str]) -> int:
    try:
        size = int(query.get("PageSize", DEFAULT_PAGE_SIZE))
    except ValueError:
        raise bad_request(20001, "Unknown parameters") from None
    if size > MAX_PAGE_SIZE:
        raise bad_request(20007, "Page size too large")
    return max(size, 1)


# --- the emulator ------------------------------------------------------------------------------

class TwilioEmulator:
    """Twilio's REST API for numbers, on loopback. `with TwilioEmulator() as twilio: ...`"""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, account_sid: str = DEFAULT_ACCOUNT_SID,
                 auth_token: str = DEFAULT_AUTH_TOKEN) -> None:
        self._host, self._port = host, port
        self._account_sid, self._auth_token = account_sid, auth_token
        self._lock = threading.Lock()  # the server answers on many threads; state changes one at a time
        self._state = EmulatorState()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> "TwilioEmulator":
        self._server = ThreadingHTTPServer((self._host, self._port), _Handler)
        self._server.daemon_threads = True
        self._server.emulator = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name="twilio-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> "TwilioEmulator":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def account_sid(self) -> str:
        return self._account_sid

    @property
    def auth_token(self) -> str:
        return self._auth_token

    # for tests

    @property
    def request_count(self) -> int:
        """REST requests served (every answer counts, errors and injected faults included)."""
        with self._lock:
            return sum(self._state.counts.values())

    @property
    def request_counts(self) -> Counter:
        """REST requests served per (method, kind), e.g. `[("POST", "incoming_phone_numbers")]`."""
        with self._lock:
            return Counter(self._state.counts)

    def reset_counts(self) -> None:
        with self._lock:
            self._state.counts.clear()

    def reset(self) -> None:
        """Forget every bought number, call, fault and count: a fresh account."""
        with self._lock:
            self._state = EmulatorState()

    def inject_faults(self, status: int, code: int, count: int = 1, method: str | None = None,
                      kind: str | None = None, message: str | None = None) -> None:
        """The next `count` requests (of this method and kind, if given) fail with status and code."""
        with self._lock:
            self._state.faults.append(Fault(int(status), int(code), int(count),
                                            method.upper() if method else None, kind, message))

    def clear_faults(self) -> None:
        with self._lock:
            self._state.faults.clear()

    def owned_numbers(self) -> list[dict[str, Any]]:
        with self._lock:
            return [number.to_json(self._account_sid) for number in self._state.owned.values()]

    def snapshot(self) -> dict[str, Any]:
        """What `GET /_emulator/state` answers."""
        with self._lock:
            counts = {f"{method} {kind}": n for (method, kind), n in sorted(self._state.counts.items())}
            return {
                "url": self.url, "account_sid": self._account_sid,
                "request_count": sum(self._state.counts.values()), "request_counts": counts,
                "owned_numbers": [{"sid": n.sid, "phone_number": n.phone_number,
                                   "friendly_name": n.settings["friendly_name"],
                                   "voice_url": n.settings["voice_url"]} for n in self._state.owned.values()],
                "faults": [asdict(fault) for fault in self._state.faults],
            }

    # one REST request

    def handle(self, request: Request) -> tuple[int, dict[str, Any] | None]:
        """Answer one REST request: (HTTP status, JSON body or None)."""
        account, kind, handlers, params = route(request.path)
        with self._lock:
            self._state.counts[(request.method, kind)] += 1
            try:
                self._take_fault(request.method, kind)
                self._authenticate(request.authorization, account)
                if handlers is None:
                    raise not_found(request.path)
                if request.method not in handlers:
                    raise TwilioError(405, 20004, "Method not allowed")
                return getattr(self, "_" + handlers[request.method])(request, **params)
            except TwilioError as error:
                return error.status, error.body()
            except Exception:  # a bug here must still reach the SDK as Twilio would answer it
                logger.exception("twilio emulator failed on %s %s", request.method, request.path)
                return 500, TwilioError(500, 20500, "Internal Server Error").body()

    def _take_fault(self, method: str, kind: str) -> None:
        for fault in self._state.faults:
            if fault.matches(method, kind):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._state.faults.remove(fault)
                raise fault.error()

    def _authenticate(self, authorization: str | None, account: str | None) -> None:
        """HTTP Basic with account SID and auth token, and only this account's URLs."""
        scheme, _, encoded = (authorization or "").partition(" ")
        try:
            sid, _, token = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            sid = token = ""
        credentials_ok = (scheme.lower() == "basic"
                          and secrets.compare_digest(sid.encode(), self._account_sid.encode())
                          and secrets.compare_digest(token.encode(), self._auth_token.encode()))
        if not credentials_ok or (account is not None and account != self._account_sid):
            raise TwilioError(401, 20003, "Authenticate")

    # AvailablePhoneNumbers

    def _search(self, request: Request, country: str, url_type: str) -> tuple[int, dict[str, Any]]:
        kind, country = URL_TYPES[url_type], country.upper()
        if country not in phonenumbers.SUPPORTED_REGIONS or not sells(country, kind):
            raise not_found(request.path)
        query = request.query
        page_size = page_size_of(query)
        blocks = self._search_blocks(country, kind, query.get("AreaCode"), query.get("Contains"))
        pattern = contains_pattern(query["Contains"]) if query.get("Contains") else None
        in_region, in_locality = query.get("InRegion", "").upper(), query.get("InLocality", "").lower()
        owned = self._state.owned_phone_numbers()
        found = []
        for number in interleave(stock(block) for block in blocks):
            if number.phone_number in owned:
                continue
            if pattern and not pattern.search(number.phone_number[1:]):
                continue
            if in_region and (number.region or "") != in_region:
                continue
            if in_locality and (number.locality or "").lower() != in_locality:
                continue
            found.append(number.to_json(country))
            if len(found) == page_size:
                break
        filters = {name: query[name] for name in SEARCH_FILTERS if name in query}
        return 200, self._page("available_phone_numbers", found, request.path, filters, 0, page_size, last=True)

    @staticmethod
    def _search_blocks(country: str, kind: str, area_code: str | None, contains: str | None) -> list[Block]:
        if country not in NANP_COUNTRIES:
            return [Block(country, kind)]  # AreaCode applies to the US and Canada only
        if area_code is not None and not re.fullmatch(r"[2-9]\d\d", area_code):
            raise bad_request(21451, "Invalid area code")
        if kind == "toll_free":
            prefixes = [area_code] if area_code else TOLL_FREE_PREFIXES
            return [Block("US", kind, prefix) for prefix in prefixes if prefix in TOLL_FREE_PREFIXES]
        if area_code:
            return [Block(country, kind, area_code)]
        anchored = re.match(r"\+1([2-9]\d\d)", contains or "")  # "Contains=+1907..." names an area code
        area_codes = [anchored[1]] if anchored else DEFAULT_AREA_CODES[country]
        return [Block(country, kind, code) for code in area_codes]

    # IncomingPhoneNumbers

    def _list_numbers(self, request: Request, url_type: str | None = None) -> tuple[int, dict[str, Any]]:
        query = request.query
        page_size = page_size_of(query)
        try:
            page = max(int(query.get("Page", 0)), 0)
        except ValueError:
            raise bad_request(20001, "Unknown parameters") from None
        numbers = [n for n in self._state.owned.values() if self._listed(n, query, url_type)]
        items = [n.to_json(self._account_sid) for n in numbers[page * page_size:(page + 1) * page_size]]
        filters = {name: query[name] for name in ("PhoneNumber", "FriendlyName") if name in query}
        last = (page + 1) * page_size >= len(numbers)
        return 200, self._page("incoming_phone_numbers", items, request.path, filters, page, page_size, last)

    @staticmethod
    def _listed(number: OwnedNumber, query: dict[str, str], url_type: str | None) -> bool:
        if url_type and number.kind != URL_TYPES[url_type]:
            return False
        if "PhoneNumber" in query and not wildcard_pattern(query["PhoneNumber"]).search(number.phone_number):
            return False
        return "FriendlyName" not in query or number.settings["friendly_name"] == query["FriendlyName"]

    @staticmethod
    def _page(key: str, items: list[dict[str, Any]], path: str, filters: dict[str, str], page: int,
              page_size: int, last: bool) -> dict[str, Any]:
        """A page of a Twilio list: the items under `key`, and the paging fields the SDK reads."""
        def uri(number: int) -> str:
            return f"{path}?{urlencode({**filters, 'PageSize': page_size, 'Page': number})}"
        start = page * page_size
        return {
            key: items, "page": page, "page_size": page_size, "start": start,
            "end": start + max(len(items) - 1, 0), "uri": uri(page), "first_page_uri": uri(0),
            "next_page_uri": None if last else uri(page + 1),
            "previous_page_uri": uri(page - 1) if page > 0 else None,
        }

    def _buy(self, request: Request, url_type: str | None = None) -> tuple[int, dict[str, Any]]:
        form = request.form
        settings = self._settings(form)
        if form.get("PhoneNumber"):
            phone_number = self._purchasable(form["PhoneNumber"])
        elif form.get("AreaCode"):
            if url_type:
                raise bad_request(21457, "AreaCode Parameter not Supported")
            phone_number = self._first_in_area_code(form["AreaCode"])
        else:
            raise bad_request(21421, "PhoneNumber is invalid")  # neither PhoneNumber nor AreaCode given
        kind = "local" if phone_number == MAGIC_AVAILABLE else kind_of(phone_number)
        if url_type and kind != URL_TYPES[url_type]:
            raise bad_request(21458, "PhoneNumber Provisioning Type Mismatch")
        moment = now()
        default_name = friendly_name(phonenumbers.parse(phone_number))
        number = OwnedNumber(new_sid("PN"), phone_number, kind, moment, moment,
                             {**DEFAULT_SETTINGS, "friendly_name": default_name, **settings})
        self._state.owned[number.sid] = number
        return 201, number.to_json(self._account_sid)

    def _purchasable(self, raw: str) -> str:
        """The E.164 number if Twilio would sell it to this account now; Twilio's error otherwise."""
        if raw == MAGIC_UNAVAILABLE:
            raise bad_request(21422, "PhoneNumber is not available")
        if raw == MAGIC_AVAILABLE:
            return raw  # test credentials let it be bought again and again
        try:
            number = phonenumbers.parse(raw)
        except phonenumbers.NumberParseException:
            raise bad_request(21421, "PhoneNumber is invalid") from None
        if raw == MAGIC_INVALID or not phonenumbers.is_valid_number(number):
            raise bad_request(21421, "PhoneNumber is invalid")
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        in_stock = any(item.phone_number == e164 for block in blocks_of(number) for item in stock(block))
        if not in_stock or e164 in self._state.owned_phone_numbers():
            raise bad_request(21422, "PhoneNumber is not available")
        return e164

    def _first_in_area_code(self, area_code: str) -> str:
        if area_code == MAGIC_AREA_CODE:
            return MAGIC_AVAILABLE
        if not re.fullmatch(r"[2-9]\d\d", area_code):
            raise bad_request(21451, "Invalid area code")
        owned = self._state.owned_phone_numbers()
        for block in self._area_code_blocks(area_code):
            for available in stock(block):
                if available.phone_number not in owned:
                    return available.phone_number
        raise bad_request(21452, "No phone numbers found in area code")

    @staticmethod
    def _area_code_blocks(area_code: str) -> list[Block]:
        if area_code == MAGIC_EMPTY_AREA_CODE:
            return []
        if area_code in TOLL_FREE_PREFIXES:
            return [Block("US", "toll_free", area_code)]
        return [Block(country, "local", area_code) for country in sorted(NANP_COUNTRIES)]

    @staticmethod
    def _settings(form: dict[str, str]) -> dict[str, Any]:
        """The settable fields given in a form, validated as Twilio validates them."""
        settings: dict[str, Any] = {}
        for name in SETTABLE:
            if name not in form:
                continue
            value: Any = form[name]
            if name in URL_SETTINGS and value and not _is_absolute_url(value):
                raise bad_request(21402, "Invalid URL")
            if name in METHOD_SETTINGS:
                value = value.upper()
                if value not in ("GET", "POST"):
                    raise bad_request(21403, "Invalid Method")
            if name == "VoiceCallerIdLookup":
                value = value.lower() == "true"
            settings[snake(name)] = value
        return settings

    def _owned(self, request: Request, sid: str) -> OwnedNumber:
        number = self._state.owned.get(sid)
        if number is None:
            raise not_found(request.path)
        return number

    def _fetch_number(self, request: Request, sid: str) -> tuple[int, dict[str, Any]]:
        return 200, self._owned(request, sid).to_json(self._account_sid)

    def _update_number(self, request: Request, sid: str) -> tuple[int, dict[str, Any]]:
        number = self._owned(request, sid)
        number.settings.update(self._settings(request.form))
        number.date_updated = now()
        return 200, number.to_json(self._account_sid)

    def _release_number(self, request: Request, sid: str) -> tuple[int, None]:
        del self._state.owned[self._owned(request, sid).sid]  # back in stock: stock minus owned
        return 204, None

    # Calls (no call is placed: the resource is created and stays "queued")

    def _create_call(self, request: Request) -> tuple[int, dict[str, Any]]:
        form = request.form
        if not form.get("To"):
            raise bad_request(21201, "No 'To' number specified")
        if not form.get("From"):
            raise bad_request(21213, "'From' phone number is required")
        if not (form.get("Twiml") or form.get("ApplicationSid") or _is_absolute_url(form.get("Url", ""))):
            raise bad_request(21205, "Invalid URL")
        if not _is_valid_number(form["To"]):
            raise bad_request(21211, "Invalid 'To' Phone Number")
        sender = next((n for n in self._state.owned.values() if n.phone_number == form["From"]), None)
        if sender is None:
            raise bad_request(21210, "'From' phone number not verified")
        moment = rfc2822(now())
        sid = new_sid("CA")
        call = {
            "sid": sid, "account_sid": self._account_sid, "to": form["To"], "from": form["From"],
            "phone_number_sid": sender.sid, "status": "queued", "direction": "outbound-api",
            "api_version": API_VERSION, "date_created": moment, "date_updated": moment,
            "start_time": None, "end_time": None, "duration": None, "price": None, "price_unit": "USD",
            "answered_by": None, "parent_call_sid": None, "caller_name": None,
            "uri": f"/{API_VERSION}/Accounts/{self._account_sid}/Calls/{sid}.json",
        }
        self._state.calls[sid] = call
        return 201, call

    def _fetch_call(self, request: Request, sid: str) -> tuple[int, dict[str, Any]]:
        call = self._state.calls.get(sid)
        if call is None:
            raise not_found(request.path)
        return 200, call

    # the control API (/_emulator/...), for a test driving the emulator of another process

    def control(self, method: str, path: str, values: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        try:
            return self._control(method, path, values)
        except (KeyError, TypeError, ValueError) as error:
            return 400, {"message": f"bad control request: {error!r}"}

    def _control(self, method: str, path: str, values: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        if (method, path) == ("GET", "/_emulator/state"):
            return 200, self.snapshot()
        if (method, path) == ("POST", "/_emulator/faults"):
            self.inject_faults(values["status"], values["code"], values.get("count", 1),
                               values.get("method"), values.get("kind"), values.get("message"))
            return 201, self.snapshot()
        if (method, path) == ("DELETE", "/_emulator/faults"):
            self.clear_faults()
            return 204, None
        if (method, path) == ("POST", "/_emulator/reset"):
            if values.get("scope") == "counts":
                self.reset_counts()
            else:
                self.reset()
            return 204, None
        return 404, {"message": f"no control endpoint {method} {path}"}


def _is_absolute_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_valid_number(value: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value))
    except phonenumbers.NumberParseException:
        return False


# --- HTTP -------------------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's requests session expects
    disable_nagle_algorithm = True  # else headers and body, written apart, wait on delayed ACKs (40 ms)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def do_PUT(self) -> None:
        self._answer("PUT")

    def _answer(self, method: str) -> None:
        emulator: TwilioEmulator = self.server.emulator  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        body = self._form_or_json()
        if url.path.startswith("/_emulator/"):  # the control API: no auth, not counted
            status, payload = emulator.control(method, url.path, {**_first_values(url.query), **body})
        else:
            query, authorization = _first_values(url.query), self.headers.get("Authorization")
            request = Request(method, url.path, query, body, authorization)
            status, payload = emulator.handle(request)
        self._send(status, payload)

    def _form_or_json(self) -> dict[str, Any]:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if not raw:
            return {}
        if self.headers.get("Content-Type", "").startswith("application/json"):
            try:
                return dict(json.loads(raw))
            except ValueError:
                return {}
        return _first_values(raw)

    def _send(self, status: int, payload: dict[str, Any] | None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="Twilio API"')
        self.send_header("Twilio-Request-Id", new_sid("RQ"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # one line per request would drown the test and `make run` output


def _first_values(encoded: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(encoded, keep_blank_values=True).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local emulator of Twilio's REST API for phone numbers.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    args = parser.parse_args(argv)
    emulator = TwilioEmulator(args.host, args.port, args.account_sid, args.auth_token).start()
    print(emulator.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

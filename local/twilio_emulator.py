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

And the phone network around it, the voice simulator: `POST /simulator/calls` (no auth: it is not
Twilio's API) with `{"from", "to", "talk_seconds", "dial_outcomes"}` places a call to a number of the
account and does what Twilio does with it: requests the number's VoiceUrl, signed, with Twilio's
parameters; follows the TwiML (`<Say>`, `<Play>`, `<Pause>`, `<Hangup>`, `<Reject>`, `<Redirect>`,
`<Dial>` with one `<Number>`); sends the dialed leg's status callbacks and the `<Dial action>` request;
and answers, once the call has ended, what happened and every request it made (see `VoiceSimulator`).
Talk and ringing are simulated time: nothing waits unless a `sleep` is injected.
`python -m local.call` drives it from a shell (`make call`).

For tests: request counts per (method, kind) and injected faults (`inject_faults`), also over HTTP
for other processes: `POST /_emulator/faults`, `GET /_emulator/state`, `POST /_emulator/reset`.
Run alone: `python -m local.twilio_emulator --port 8020` (defaults: TWILIO_EMULATOR_PORT, else
a free port; the auth token is TWILIO_AUTH_TOKEN, else DEFAULT_AUTH_TOKEN, as for `TwilioEmulator()`).
"""
from __future__ import annotations

import argparse
import base64
import binascii
import functools
import itertools
import json
import logging
import math
import os
import random
import re
import secrets
import threading
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit
from xml.etree import ElementTree

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
                 auth_token: str | None = None, *, clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        """`auth_token` None: TWILIO_AUTH_TOKEN from the environment, else DEFAULT_AUTH_TOKEN, so `make run`
        with TWILIO_AUTH_TOKEN set (and no TWILIO_ACCOUNT_SID) authenticates and signs with that token.
        `clock` and `sleep` time the voice simulator (see VoiceSimulator): by default the product's clock
        (chalicelib.clock), and simulated time passes without waiting."""
        if auth_token is None:
            auth_token = os.environ.get("TWILIO_AUTH_TOKEN") or DEFAULT_AUTH_TOKEN
        self._host, self._port = host, port
        self._account_sid, self._auth_token = account_sid, auth_token
        self.simulator = VoiceSimulator(self, clock=clock, sleep=sleep)
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

    # the voice simulator (the phone network)

    def simulate_call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Place one call from the phone network, as `POST /simulator/calls` does with this JSON body, and
        answer what happened once it has ended. SimulatorInputError for a request that makes no sense."""
        return self.simulator.place(CallScript.from_json(request))

    def simulator_request(self, method: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        """`POST /simulator/calls` over HTTP: (status, JSON body)."""
        if method != "POST":
            return 405, {"error": "METHOD_NOT_ALLOWED", "message": f"{SIMULATOR_PATH} takes POST"}
        try:
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            return 400, SimulatorInputError(None, "the body must be a JSON object").body()
        try:
            return 200, self.simulate_call(body)
        except SimulatorInputError as error:
            return 400, error.body()
        except Exception as error:  # a bug here must reach the caller, not hang it
            logger.exception("the voice simulator failed")
            return 500, {"error": "SIMULATOR_FAILED", "message": repr(error)}

    def _number_called(self, phone_number: str) -> OwnedNumber | None:
        """A copy of the account's number (the last bought, for the magic number bought again and again)."""
        with self._lock:
            for number in reversed(list(self._state.owned.values())):
                if number.phone_number == phone_number:
                    return OwnedNumber(number.sid, number.phone_number, number.kind, number.date_created,
                                       number.date_updated, dict(number.settings))
            return None

    def _save_call(self, call: dict[str, Any]) -> None:
        """A call the simulator placed, as `Calls/{Sid}.json` answers it."""
        with self._lock:
            self._state.calls[call["sid"]] = dict(call)

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


# --- the voice simulator: the phone network calling the account's numbers ----------------------

SIMULATOR_PATH = "/simulator/calls"
SCRIPT_FIELDS = ("from", "to", "talk_seconds", "dial_outcomes")
DIAL_OUTCOMES = ("answered", "no-answer", "busy", "failed")  # what a dialed phone does
E164 = re.compile(r"\+[1-9]\d{1,14}")
DEFAULT_TALK_SECONDS = 60
MAX_CALL_SECONDS = 14400  # Twilio's longest <Dial timeLimit> (4 hours), and the longest talk simulated
DIAL_TIMEOUT_SECONDS = 30  # <Dial timeout> when not given
MAX_DIAL_TIMEOUT_SECONDS = 600
MAX_TWIML_DOCUMENTS = 10  # per call: a loop of dial actions or redirects ends there
WEBHOOK_TIMEOUT_SECONDS = 15.0  # how long Twilio waits for a webhook's answer
RING_AFTER_SECONDS = 1  # a dialed phone rings this long after it is dialed,
ANSWER_AFTER_SECONDS = 4  # picks up this long after it is dialed (when it answers),
REFUSED_AFTER_SECONDS = 1  # and a busy or failed one says so this long after it is dialed
SAY_SECONDS_PER_WORD = 0.4  # how long <Say> speaks
PLAY_SECONDS = 5  # how long <Play> plays (the audio is not fetched)
MAX_RECORDED_BODY = 20_000  # characters of each answer kept in the call's record
SIP_RESPONSE_CODES = {"completed": 200, "busy": 486, "no-answer": 487, "failed": 404}
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
# Twilio's error codes for what goes wrong with webhooks and TwiML (twilio.com/docs/api/errors).
HTTP_RETRIEVAL_FAILURE = 11200  # the answer was not 2xx
HTTP_CONNECTION_FAILURE = 11205  # no answer at all: refused, timed out
DOCUMENT_PARSE_FAILURE = 12100  # the answer is not TwiML
INVALID_DIAL_NUMBER = 13223  # <Dial>: invalid phone number format
# What Twilio's webhook requests carry besides X-Twilio-Signature and I-Twilio-Idempotency-Token.
WEBHOOK_HEADERS = {"User-Agent": "TwilioProxy/1.1", "Cache-Control": "max-age=259200", "Accept": "*/*"}
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"


class SimulatorInputError(ValueError):
    """A request to the phone network that makes no sense: 400."""

    def __init__(self, field_name: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field_name

    def body(self) -> dict[str, Any]:
        return {"error": "BAD_REQUEST", "field": self.field, "message": str(self)}


@dataclass(frozen=True)
class CallScript:
    """What the phone network is asked to do: who calls which number, how long the talk lasts if someone
    answers, and what each dialed destination does (answered unless listed)."""

    caller: str
    called: str
    talk_seconds: int = DEFAULT_TALK_SECONDS
    dial_outcomes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, body: Any) -> "CallScript":
        if not isinstance(body, dict):
            raise SimulatorInputError(None, "the body must be a JSON object")
        unknown = sorted(set(body) - set(SCRIPT_FIELDS))
        if unknown:
            raise SimulatorInputError(unknown[0], f"unknown field {unknown[0]!r}: the fields are "
                                                  + ", ".join(SCRIPT_FIELDS))
        caller, called = _e164_field(body, "from"), _e164_field(body, "to")
        talk = body.get("talk_seconds", DEFAULT_TALK_SECONDS)
        if isinstance(talk, bool) or not isinstance(talk, int) or not 0 <= talk <= MAX_CALL_SECONDS:
            raise SimulatorInputError("talk_seconds", f"talk_seconds must be a whole number of seconds from 0 "
                                                      f"to {MAX_CALL_SECONDS}")
        outcomes = body.get("dial_outcomes") or {}
        if not isinstance(outcomes, dict):
            raise SimulatorInputError("dial_outcomes", "dial_outcomes must be an object: {E.164 number: outcome}")
        for number, outcome in outcomes.items():
            if not E164.fullmatch(number):
                raise SimulatorInputError("dial_outcomes", f"dial_outcomes: {number!r} is not an E.164 number")
            if outcome not in DIAL_OUTCOMES:
                raise SimulatorInputError("dial_outcomes", f"dial_outcomes[{number!r}] must be one of "
                                                           + ", ".join(DIAL_OUTCOMES))
        return cls(caller, called, talk, dict(outcomes))


def _e164_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise SimulatorInputError(name, f"{name} is required: an E.164 number such as +14155550100")
    if not isinstance(value, str) or not E164.fullmatch(value):
        raise SimulatorInputError(name, f"{name} must be an E.164 number such as +14155550100")
    return value


@functools.lru_cache(maxsize=1024)
def _whereabouts(phone_number: str) -> tuple[str, str, str, str]:
    """(city, state, zip, country) of a number as Twilio's voice parameters give them: the city in
    capitals, state and country as codes, and the zip, which the numbering plan does not tell, empty."""
    try:
        number = phonenumbers.parse(phone_number)
        locality, region = place(number)
    except Exception:  # noqa: BLE001 - an odd number has no whereabouts, as at Twilio
        return "", "", "", ""
    return (locality or "").upper(), region or "", "", phonenumbers.region_code_for_number(number) or ""


def _party(role: str, phone_number: str) -> dict[str, str]:
    """Twilio's parameters for one end of a call: `From`, `FromCity`, `FromCountry`, `FromState`, `FromZip`."""
    city, state, zip_code, country = _whereabouts(phone_number)
    return {role: phone_number, f"{role}City": city, f"{role}Country": country, f"{role}State": state,
            f"{role}Zip": zip_code}


def _twilio_order(params: dict[str, str]) -> dict[str, str]:
    """Twilio posts its parameters sorted by name (AccountSid, ApiVersion, CallSid, CallStatus, Called, ...)."""
    return dict(sorted(params.items()))


def _minutes(seconds: int) -> int:
    return math.ceil(seconds / 60)


def _int_attribute(element: ElementTree.Element, name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(element.get(name, default))
    except ValueError:
        return default
    return min(max(value, low), high)


def _dialable(text: str) -> str | None:
    """The E.164 number <Dial> calls: E.164 as given, or a US number written nationally ("415-555-0100")."""
    if E164.fullmatch(text):
        return text
    try:
        number = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) if phonenumbers.is_valid_number(number) else None


def _describe(verb: ElementTree.Element) -> dict[str, Any]:
    """A TwiML verb as the simulator reports it: name, attributes, text, nouns."""
    def text_of(element: ElementTree.Element) -> str | None:
        return (element.text or "").strip() or None
    return {"verb": verb.tag, "attributes": dict(verb.attrib), "text": text_of(verb),
            "nouns": [{"noun": noun.tag, "attributes": dict(noun.attrib), "text": text_of(noun)} for noun in verb]}


class VoiceSimulator:
    """The phone network of `make run`: places calls to the emulator account's numbers and plays Twilio's
    part in them against the product's webhooks, as Twilio would.

    One call (`place`), synchronously, answered once it has ended:

    - The called number must be the account's. Otherwise the network says the number is not in service:
      status "failed", no CallSid, no request made (Twilio never hears of the call). A number of the
      account with no VoiceUrl fails the same way, with its CallSid.
    - A CallSid; the number's VoiceUrl requested with its VoiceMethod (GET puts the parameters in the
      query), signed as Twilio signs (X-Twilio-Signature: HMAC-SHA1 of the full URL and, for POST, the
      sorted parameters, with the account's auth token), with the parameters of an incoming call in
      Twilio's order (sorted by name): AccountSid, ApiVersion, CallSid, CallStatus "ringing", Called,
      CalledCity, CalledCountry, CalledState, CalledZip, Caller..., Direction "inbound", From..., To....
      If that fails (not 2xx, no answer within 15 s, not TwiML), the VoiceFallbackUrl with ErrorCode and
      ErrorUrl, if the number has one; failing that, the caller hears the application-error message and
      the call ends (completed, as at Twilio), the failure in `errors` with Twilio's code (11200, 11205,
      12100).
    - The TwiML, verb by verb: <Say> (its text in `said`), <Play>, <Pause length>, <Hangup>, <Reject
      reason> (as first verb the call is never answered: busy, or no-answer), <Redirect method> and <Dial>
      (action, method, timeout, timeLimit, callerId) of one <Number> (statusCallback, statusCallbackEvent,
      statusCallbackMethod) or of a number as its text. Other verbs and nouns are skipped, with a warning in
      `errors`. Relative URLs are resolved against the URL of their document.
    - A <Dial>: the dialed leg has its own CallSid, and its phone does what `dial_outcomes` says for its
      number (answered, when not listed). Events: initiated; ringing (answered, no-answer); in-progress
      (answered); then completed, or no-answer once `timeout` has passed, or busy, or failed. Each event
      the <Number> asks for (statusCallbackEvent, space-separated; "completed" when only statusCallback is
      given; "answered" is sent as CallStatus in-progress) is sent to its statusCallback with the leg's
      parameters: CallSid, ParentCallSid, Direction "outbound-dial", From and Caller the callerId (else the
      caller), To and Called the number, CallbackSource "call-progress-events", Timestamp (RFC 2822),
      SequenceNumber (0, 1, ... per leg), and on the last one CallDuration, Duration (minutes) and
      SipResponseCode. An answered leg talks min(talk_seconds, timeLimit) seconds. Then the action URL
      gets the call's own parameters (CallStatus in-progress) and DialCallSid, DialCallStatus (completed,
      busy, no-answer, failed), DialBridged, and DialCallDuration when answered; its TwiML goes on (and
      may <Dial> again: a ring tree). Without action, the next verb goes on; with none left the call ends.
    - At most MAX_TWIML_DOCUMENTS (10) TwiML documents per call (voice URL, fallback, redirects, actions):
      the call ends there.
    - The number's StatusCallback, if it has one, gets the call's own final event (with CallDuration).
    The call and its dialed legs are then `Calls/{Sid}.json` resources of the account.

    Time: `clock()` tells when a call starts (default chalicelib.clock.now, the product's clock: a clock
    moved under `make run` moves the calls too). Every second of ringing, speech and talk after that is
    simulated: timestamps and durations are those of a real call, and the time is handed to `sleep`,
    which by default does not wait. Tests inject both; a `sleep=time.sleep` would play calls in real time.
    """

    def __init__(self, emulator: "TwilioEmulator", clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], None] | None = None,
                 webhook_timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> None:
        self._emulator = emulator
        self._clock = clock
        self.sleep: Callable[[float], None] = sleep if sleep is not None else (lambda seconds: None)
        self.webhook_timeout = webhook_timeout

    def now(self) -> datetime:
        if self._clock is not None:
            moment = self._clock()
        else:
            from chalicelib import clock  # noqa: PLC0415 - the product's clock, movable under `make run`

            moment = clock.now()
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)

    def place(self, script: CallScript) -> dict[str, Any]:
        """Place the call and play it to its end; what happened, every request made included."""
        number = self._emulator._number_called(script.called)
        if number is None:
            message = (f"{script.called} is not a number of this Twilio account: the network answers that it is "
                       "not in service, and Twilio never hears of the call")
            return {"call_sid": None, "from": script.caller, "to": script.called, "status": "failed",
                    "duration": 0, "dialed": [], "said": [], "requests": [],
                    "errors": [{"code": None, "level": "error", "message": message, "url": None}]}
        return _SimulatedCall(self, self._emulator, script, number).run()


@dataclass
class _Leg:
    """A dialed leg of the call: its own CallSid, and who hears of its progress."""
    sid: str
    number: str
    caller_id: str
    callback: str | None
    callback_method: str
    events: frozenset[str]
    sequence: int = 0


class _SimulatedCall:
    """One inbound call, played once from ringing to its end (see VoiceSimulator)."""

    def __init__(self, simulator: VoiceSimulator, emulator: "TwilioEmulator", script: CallScript,
                 number: OwnedNumber) -> None:
        import requests  # noqa: PLC0415 - only the simulator speaks HTTP to webhooks
        from twilio.request_validator import RequestValidator  # noqa: PLC0415

        self._simulator, self._emulator, self._script = simulator, emulator, script
        self._number, self._settings = number, number.settings
        self._session = requests.Session()
        self._unanswered = requests.RequestException  # refused, timed out, ...
        self._session.trust_env = False  # Twilio does not go through this machine's proxy settings
        self._validator = RequestValidator(emulator.auth_token)
        self.sid = new_sid("CA")
        self._started = simulator.now().replace(microsecond=0)
        self._elapsed = 0  # simulated seconds since the call reached Twilio
        self._answered_at: int | None = None
        self._status = "ringing"
        self._ended = False
        self._documents = 0
        self._requests: list[dict[str, Any]] = []
        self._dialed: list[dict[str, Any]] = []
        self._said: list[str] = []
        self._errors: list[dict[str, Any]] = []
        self._resource = self._call_resource(self.sid, "inbound", script.caller, script.called, "ringing")
        self._resource["phone_number_sid"] = number.sid

    # the call, start to end

    def run(self) -> dict[str, Any]:
        try:
            self._emulator._save_call(self._resource)
            voice_url = self._settings.get("voice_url") or ""
            if voice_url:
                self._answer_the_call(voice_url)
            else:
                self._error(None, "the number has no VoiceUrl: Twilio has nothing to ask what to do with the call")
                self._end("failed")
        finally:
            self._session.close()
        return {"call_sid": self.sid, "from": self._script.caller, "to": self._script.called,
                "status": self._status, "duration": self._duration(), "dialed": self._dialed,
                "said": self._said, "requests": self._requests, "errors": self._errors}

    def _answer_the_call(self, voice_url: str) -> None:
        method = self._settings.get("voice_method") or "POST"
        url, verbs = voice_url, self._twiml("voice", voice_url, method, self._params("ringing"))
        fallback = self._settings.get("voice_fallback_url")
        if verbs is None and fallback and self._documents < MAX_TWIML_DOCUMENTS:
            failure = self._errors[-1]
            params = self._params("ringing", ErrorCode=str(failure["code"]), ErrorUrl=voice_url)
            fallback_method = self._settings.get("voice_fallback_method") or "POST"
            url, verbs = fallback, self._twiml("voice-fallback", fallback, fallback_method, params)
        if verbs is None:
            self._application_error()
        else:
            self._execute(verbs, url)

    def _execute(self, verbs: list[ElementTree.Element], url: str) -> None:
        """Verb by verb, each new document (action, redirect) replacing the rest of the current one."""
        pending = list(verbs)
        while pending and not self._ended:
            verb = pending.pop(0)
            if verb.tag == "Reject" and self._answered_at is None:
                self._end("busy" if verb.get("reason") == "busy" else "no-answer")
                return
            self._pick_up()  # any verb but a first <Reject> answers the call
            if verb.tag == "Say":
                self._say((verb.text or "").strip(), _int_attribute(verb, "loop", 1, 1, 10))
            elif verb.tag == "Play":
                self._advance(PLAY_SECONDS * _int_attribute(verb, "loop", 1, 1, 10))
            elif verb.tag == "Pause":
                self._advance(_int_attribute(verb, "length", 1, 1, MAX_CALL_SECONDS))
            elif verb.tag in ("Hangup", "Reject"):
                break
            elif verb.tag in ("Redirect", "Dial"):
                following = self._redirect(verb, url) if verb.tag == "Redirect" else self._dial(verb, url)
                if following is None:
                    continue  # a <Dial> without action: the next verb
                next_url, next_verbs = following
                if next_verbs is None:
                    self._application_error()
                    return
                pending, url = list(next_verbs), next_url
            else:
                self._error(None, f"<{verb.tag}> is not simulated: skipped", url, level="warning")
        self._end("completed")

    def _redirect(self, verb: ElementTree.Element, url: str) -> tuple[str, list | None]:
        target = urljoin(url, (verb.text or "").strip())
        return target, self._twiml("redirect", target, verb.get("method") or "POST", self._params("in-progress"))

    def _dial(self, verb: ElementTree.Element, url: str) -> tuple[str, list | None] | None:
        """Dial, play the dialed leg to its end, then (with an action) ask what next: (URL, its verbs)."""
        result = self._dial_leg(verb, url)
        action = verb.get("action")
        if not action:
            return None
        target = urljoin(url, action)
        params = self._params("in-progress", **result)
        return target, self._twiml("dial-action", target, verb.get("method") or "POST", params)

    def _dial_leg(self, verb: ElementTree.Element, url: str) -> dict[str, str]:
        """The dialed leg from initiated to its end; the Dial* parameters of the action request."""
        timeout = _int_attribute(verb, "timeout", DIAL_TIMEOUT_SECONDS, 1, MAX_DIAL_TIMEOUT_SECONDS)
        time_limit = _int_attribute(verb, "timeLimit", MAX_CALL_SECONDS, 1, MAX_CALL_SECONDS)
        nouns = list(verb)
        numbers = [noun for noun in nouns if noun.tag == "Number"]
        for noun in nouns:
            if noun.tag != "Number":
                self._error(None, f"<Dial><{noun.tag}> is not simulated: skipped", url, level="warning")
        if len(numbers) > 1:
            self._error(None, "only the first <Number> of a <Dial> is dialed (simultaneous dialing is not "
                              "simulated)", url, level="warning")
        noun = numbers[0] if numbers else None
        written = ((noun.text if noun is not None else verb.text if not nouns else "") or "").strip()
        number = _dialable(written)
        if number is None:
            self._error(INVALID_DIAL_NUMBER, f"<Dial>: {written!r} is not a phone number", url)
            self._dialed.append({"number": written, "outcome": "failed", "duration": 0, "call_sid": None,
                                 "dial_call_status": "failed"})
            return {"DialBridged": "false", "DialCallStatus": "failed"}
        callback = noun.get("statusCallback") if noun is not None else None
        events = (noun.get("statusCallbackEvent") or "completed") if noun is not None else ""
        leg = _Leg(new_sid("CA"), number, verb.get("callerId") or self._script.caller,
                   urljoin(url, callback) if callback else None,
                   (noun.get("statusCallbackMethod") if noun is not None else None) or "POST",
                   frozenset(re.split(r"[\s,]+", events.strip())) if callback else frozenset())
        resource = self._call_resource(leg.sid, "outbound-dial", leg.caller_id, number, "queued")
        resource["parent_call_sid"] = self.sid
        self._emulator._save_call(resource)

        outcome = self._script.dial_outcomes.get(number, "answered")
        if outcome == "answered" and ANSWER_AFTER_SECONDS > timeout:
            outcome = "no-answer"  # the Dial gave up ringing before the phone would have been picked up
        dialed_at = self._elapsed
        self._leg_event(leg, "initiated", "initiated")
        talk = 0
        if outcome in ("answered", "no-answer"):
            self._advance(RING_AFTER_SECONDS)
            self._leg_event(leg, "ringing", "ringing")
        if outcome == "answered":
            self._advance(ANSWER_AFTER_SECONDS - RING_AFTER_SECONDS)
            resource.update(status="in-progress", start_time=rfc2822(self._moment()))
            self._emulator._save_call(resource)
            self._leg_event(leg, "answered", "in-progress")
            talk = min(self._script.talk_seconds, time_limit)
            self._advance(talk)
            status = "completed"
        elif outcome == "no-answer":
            self._advance(max(timeout - (self._elapsed - dialed_at), 0))
            status = "no-answer"
        else:
            self._advance(REFUSED_AFTER_SECONDS)
            status = outcome
        resource.update(status=status, end_time=rfc2822(self._moment()), duration=str(talk),
                        date_updated=rfc2822(self._moment()))
        self._emulator._save_call(resource)
        self._leg_event(leg, "completed", status, CallDuration=str(talk), Duration=str(_minutes(talk)),
                        SipResponseCode=str(SIP_RESPONSE_CODES[status]))
        self._dialed.append({"number": number, "outcome": outcome, "duration": talk, "call_sid": leg.sid,
                             "dial_call_status": status})
        result = {"DialBridged": "true" if status == "completed" else "false", "DialCallSid": leg.sid,
                  "DialCallStatus": status}
        if status == "completed":
            result["DialCallDuration"] = str(talk)
        return result

    def _leg_event(self, leg: _Leg, event: str, status: str, **extra: str) -> None:
        if leg.callback is None or event not in leg.events:
            return
        params = {
            "AccountSid": self._emulator.account_sid, "ApiVersion": self._api_version(), "CallSid": leg.sid,
            "CallStatus": status, "CallbackSource": "call-progress-events", "Direction": "outbound-dial",
            "ParentCallSid": self.sid, "SequenceNumber": str(leg.sequence), "Timestamp": rfc2822(self._moment()),
            **_party("Called", leg.number), **_party("Caller", leg.caller_id), **_party("From", leg.caller_id),
            **_party("To", leg.number), **extra,
        }
        leg.sequence += 1
        self._callback(leg.callback, leg.callback_method, _twilio_order(params))

    # the call's own state

    def _pick_up(self) -> None:
        if self._answered_at is None:
            self._answered_at = self._elapsed
            self._status = "in-progress"
            self._resource.update(status="in-progress", start_time=rfc2822(self._moment()),
                                  date_updated=rfc2822(self._moment()))
            self._emulator._save_call(self._resource)

    def _say(self, text: str, loop: int = 1) -> None:
        self._said.append(text)
        self._advance(max(1, math.ceil(len(text.split()) * SAY_SECONDS_PER_WORD)) * loop)

    def _application_error(self) -> None:
        """What Twilio does when it cannot get TwiML: says so, and hangs up."""
        self._pick_up()
        self._say(APPLICATION_ERROR)
        self._end("completed")

    def _end(self, status: str) -> None:
        if self._ended:
            return
        self._ended, self._status = True, status
        duration, moment = self._duration(), rfc2822(self._moment())
        self._resource.update(status=status, end_time=moment, date_updated=moment,
                              duration=str(duration) if self._answered_at is not None else None)
        self._emulator._save_call(self._resource)
        callback = self._settings.get("status_callback")
        if callback:
            params = self._params(status, CallDuration=str(duration), Duration=str(_minutes(duration)),
                                  CallbackSource="call-progress-events", SequenceNumber="0", Timestamp=moment)
            self._callback(callback, self._settings.get("status_callback_method") or "POST", params)

    def _duration(self) -> int:
        return 0 if self._answered_at is None else self._elapsed - self._answered_at

    def _advance(self, seconds: int) -> None:
        if seconds > 0:
            self._elapsed += seconds
            self._simulator.sleep(seconds)

    def _moment(self) -> datetime:
        return self._started + timedelta(seconds=self._elapsed)

    def _api_version(self) -> str:
        return self._settings.get("api_version") or API_VERSION

    def _params(self, status: str, **extra: str) -> dict[str, str]:
        """The parameters of every request about the call itself, in Twilio's order."""
        caller, called = self._script.caller, self._script.called
        return _twilio_order({
            "AccountSid": self._emulator.account_sid, "ApiVersion": self._api_version(), "CallSid": self.sid,
            "CallStatus": status, "Direction": "inbound", **_party("Called", called), **_party("Caller", caller),
            **_party("From", caller), **_party("To", called), **extra,
        })

    def _call_resource(self, sid: str, direction: str, from_: str, to: str, status: str) -> dict[str, Any]:
        moment = rfc2822(self._moment())
        account = self._emulator.account_sid
        return {
            "sid": sid, "account_sid": account, "to": to, "from": from_, "phone_number_sid": None,
            "status": status, "direction": direction, "api_version": self._api_version(),
            "date_created": moment, "date_updated": moment, "start_time": None, "end_time": None,
            "duration": None, "price": None, "price_unit": "USD", "answered_by": None, "parent_call_sid": None,
            "caller_name": None, "uri": f"/{API_VERSION}/Accounts/{account}/Calls/{sid}.json",
        }

    # requests to the product

    def _twiml(self, kind: str, url: str, method: str, params: dict[str, str]) -> list[ElementTree.Element] | None:
        """Request a TwiML document: its verbs, or None (the failure recorded in `errors`)."""
        if self._documents >= MAX_TWIML_DOCUMENTS:
            self._error(None, f"more than {MAX_TWIML_DOCUMENTS} TwiML documents in one call: {url} was not "
                              "requested and the call ends", url)
            return None
        self._documents += 1
        record, content = self._send(kind, url, method, params)
        if record["status"] is None:
            self._error(HTTP_CONNECTION_FAILURE, f"HTTP connection failure: {record['error']}", url)
            return None
        if not 200 <= record["status"] < 300:
            self._error(HTTP_RETRIEVAL_FAILURE, f"HTTP retrieval failure: the answer was {record['status']}", url)
            return None
        try:
            root = ElementTree.fromstring(content)
        except ElementTree.ParseError as error:
            self._error(DOCUMENT_PARSE_FAILURE, f"Document parse failure: not XML ({error})", url)
            return None
        if root.tag != "Response":
            self._error(DOCUMENT_PARSE_FAILURE, f"Document parse failure: <{root.tag}> is not <Response>", url)
            return None
        verbs = list(root)
        record["twiml"] = [_describe(verb) for verb in verbs]
        return verbs

    def _callback(self, url: str, method: str, params: dict[str, str]) -> None:
        """A status callback: its answer is not read, but a failure is logged, as Twilio's debugger does."""
        record, _ = self._send("status-callback", url, method, params)
        if record["status"] is None:
            self._error(HTTP_CONNECTION_FAILURE, f"HTTP connection failure: {record['error']}", url, level="warning")
        elif not 200 <= record["status"] < 300:
            self._error(HTTP_RETRIEVAL_FAILURE, f"HTTP retrieval failure: the answer was {record['status']}", url,
                        level="warning")

    def _send(self, kind: str, url: str, method: str, params: dict[str, str]) -> tuple[dict[str, Any], bytes]:
        """One signed request, as Twilio makes it, recorded: (the record, the answer's bytes)."""
        method = method.upper() if method.upper() in ("GET", "POST") else "POST"
        headers = {**WEBHOOK_HEADERS, "I-Twilio-Idempotency-Token": str(uuid.uuid4())}
        if method == "GET":  # the parameters go in the query, and the signature covers the whole URL
            target, data = url + ("&" if urlsplit(url).query else "?") + urlencode(params), None
            headers["X-Twilio-Signature"] = self._validator.compute_signature(target, {})
        else:
            target, data = url, urlencode(params)
            headers["X-Twilio-Signature"] = self._validator.compute_signature(url, params)
            headers["Content-Type"] = FORM_CONTENT_TYPE
        record: dict[str, Any] = {"kind": kind, "method": method, "url": target, "params": dict(params),
                                  "at": self._elapsed, "status": None, "body": None}
        self._requests.append(record)
        try:
            response = self._session.request(method, target, data=data, headers=headers,
                                             timeout=self._simulator.webhook_timeout, allow_redirects=False)
        except self._unanswered as error:
            record["error"] = f"{type(error).__name__}: {error}"
            return record, b""
        record["status"] = response.status_code
        record["body"] = response.content.decode("utf-8", "replace")[:MAX_RECORDED_BODY]
        return record, response.content

    def _error(self, code: int | None, message: str, url: str | None = None, level: str = "error") -> None:
        self._errors.append({"code": code, "level": level, "message": message, "url": url})


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
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path == SIMULATOR_PATH:  # the phone network: no auth, not counted
            status, payload = emulator.simulator_request(method, raw)
            self._send(status, payload)
            return
        body = self._form_or_json(raw)
        if url.path.startswith("/_emulator/"):  # the control API: no auth, not counted
            status, payload = emulator.control(method, url.path, {**_first_values(url.query), **body})
        else:
            query, authorization = _first_values(url.query), self.headers.get("Authorization")
            request = Request(method, url.path, query, body, authorization)
            status, payload = emulator.handle(request)
        self._send(status, payload)

    def _form_or_json(self, data: bytes) -> dict[str, Any]:
        raw = data.decode("utf-8", "replace")
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
    parser.add_argument("--port", type=int, default=int(os.environ.get("TWILIO_EMULATOR_PORT") or 0),
                        help="default TWILIO_EMULATOR_PORT, else 0: a free port")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN") or DEFAULT_AUTH_TOKEN,
                        help="default TWILIO_AUTH_TOKEN, else the emulator's fixed token")
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

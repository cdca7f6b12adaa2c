"""Twilio's REST resources over one account's state: AvailablePhoneNumbers, IncomingPhoneNumbers, Calls and
Recordings (the package docstring says what each does), and `answer`, which takes one request as Twilio does: counted,
then an injected fault if one matches, then HTTP Basic auth, then the resource."""
from __future__ import annotations

import base64
import binascii
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

import phonenumbers
from phonenumbers import PhoneNumberFormat

from local.twilio_emulator.account import (
    API_VERSION, EmulatorState, Media, OwnedNumber, TwilioError, bad_request, new_sid, not_found, now, rfc2822,
)
from local.twilio_emulator.recordings import wav
from local.twilio_emulator.stock import (
    DEFAULT_AREA_CODES, NANP_COUNTRIES, TOLL_FREE_PREFIXES, Block, blocks_of, contains_pattern, friendly_name,
    interleave, kind_of, sells, stock,
)

logger = logging.getLogger(__name__)

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
RECORDINGS = "recordings"
RECORDING = "recording"
RECORDING_MEDIA = "recording_media"
WAV = "audio/x-wav"  # as Twilio serves a recording's .wav
UNKNOWN = "unknown"

# Number types, as the URL spells them and as this module names them.
URL_TYPES = {"Local": "local", "TollFree": "toll_free", "Mobile": "mobile"}
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


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    authorization: str | None = None


# --- one request -------------------------------------------------------------------------------

def answer(state: EmulatorState, auth_token: str, request: Request) -> tuple[int, dict[str, Any] | Media | None]:
    """Answer one REST request: (HTTP status, JSON body, Media or None). The caller holds the emulator's lock."""
    account, kind, handlers, params = route(request.path)
    state.counts[(request.method, kind)] += 1
    try:
        _take_fault(state, request.method, kind)
        _authenticate(state.account_sid, auth_token, request.authorization, account)
        if handlers is None:
            raise not_found(request.path)
        if request.method not in handlers:
            raise TwilioError(405, 20004, "Method not allowed")
        return handlers[request.method](state, request, **params)
    except TwilioError as error:
        return error.status, error.body()
    except Exception:  # a bug here must still reach the SDK as Twilio would answer it
        logger.exception("twilio emulator failed on %s %s", request.method, request.path)
        return 500, TwilioError(500, 20500, "Internal Server Error").body()


def _take_fault(state: EmulatorState, method: str, kind: str) -> None:
    for fault in state.faults:
        if fault.matches(method, kind):
            fault.remaining -= 1
            if fault.remaining <= 0:
                state.faults.remove(fault)
            raise fault.error()


def _authenticate(account_sid: str, auth_token: str, authorization: str | None, account: str | None) -> None:
    """HTTP Basic with account SID and auth token, and only this account's URLs."""
    scheme, _, encoded = (authorization or "").partition(" ")
    try:
        sid, _, token = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        sid = token = ""
    credentials_ok = (scheme.lower() == "basic"
                      and secrets.compare_digest(sid.encode(), account_sid.encode())
                      and secrets.compare_digest(token.encode(), auth_token.encode()))
    if not credentials_ok or (account is not None and account != account_sid):
        raise TwilioError(401, 20003, "Authenticate")


# --- AvailablePhoneNumbers ---------------------------------------------------------------------

def search(state: EmulatorState, request: Request, country: str, url_type: str) -> tuple[int, dict[str, Any]]:
    kind, country = URL_TYPES[url_type], country.upper()
    if country not in phonenumbers.SUPPORTED_REGIONS or not sells(country, kind):
        raise not_found(request.path)
    query = request.query
    page_size = page_size_of(query)
    blocks = _search_blocks(country, kind, query.get("AreaCode"), query.get("Contains"))
    pattern = contains_pattern(query["Contains"]) if query.get("Contains") else None
    in_region, in_locality = query.get("InRegion", "").upper(), query.get("InLocality", "").lower()
    owned = state.owned_phone_numbers()
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
    return 200, _page("available_phone_numbers", found, request.path, filters, 0, page_size, last=True)


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


# --- IncomingPhoneNumbers ----------------------------------------------------------------------

def list_numbers(state: EmulatorState, request: Request, url_type: str | None = None) -> tuple[int, dict[str, Any]]:
    query = request.query
    page_size = page_size_of(query)
    try:
        page = max(int(query.get("Page", 0)), 0)
    except ValueError:
        raise bad_request(20001, "Unknown parameters") from None
    numbers = [n for n in state.owned.values() if _listed(n, query, url_type)]
    items = [n.to_json(state.account_sid) for n in numbers[page * page_size:(page + 1) * page_size]]
    filters = {name: query[name] for name in ("PhoneNumber", "FriendlyName") if name in query}
    last = (page + 1) * page_size >= len(numbers)
    return 200, _page("incoming_phone_numbers", items, request.path, filters, page, page_size, last)


def _listed(number: OwnedNumber, query: dict[str, str], url_type: str | None) -> bool:
    if url_type and number.kind != URL_TYPES[url_type]:
        return False
    if "PhoneNumber" in query and not wildcard_pattern(query["PhoneNumber"]).search(number.phone_number):
        return False
    return "FriendlyName" not in query or number.settings["friendly_name"] == query["FriendlyName"]


def wildcard_pattern(pattern: str) -> re.Pattern[str]:
    """IncomingPhoneNumbers' PhoneNumber filter: a partial number, `*` standing for any digit."""
    return re.compile("".join(r"\d" if char == "*" else re.escape(char) for char in pattern))


def page_size_of(query: dict[str, str]) -> int:
    try:
        size = int(query.get("PageSize", DEFAULT_PAGE_SIZE))
    except ValueError:
        raise bad_request(20001, "Unknown parameters") from None
    if size > MAX_PAGE_SIZE:
        raise bad_request(20007, "Page size too large")
    return max(size, 1)


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


def buy(state: EmulatorState, request: Request, url_type: str | None = None) -> tuple[int, dict[str, Any]]:
    form = request.form
    settings = _settings(form)
    if form.get("PhoneNumber"):
        phone_number = _purchasable(state, form["PhoneNumber"])
    elif form.get("AreaCode"):
        if url_type:
            raise bad_request(21457, "AreaCode Parameter not Supported")
        phone_number = _first_in_area_code(state, form["AreaCode"])
    else:
        raise bad_request(21421, "PhoneNumber is invalid")  # neither PhoneNumber nor AreaCode given
    kind = "local" if phone_number == MAGIC_AVAILABLE else kind_of(phone_number)
    if url_type and kind != URL_TYPES[url_type]:
        raise bad_request(21458, "PhoneNumber Provisioning Type Mismatch")
    moment = now()
    default_name = friendly_name(phonenumbers.parse(phone_number))
    number = OwnedNumber(new_sid("PN"), phone_number, kind, moment, moment,
                         {**DEFAULT_SETTINGS, "friendly_name": default_name, **settings})
    state.owned[number.sid] = number
    return 201, number.to_json(state.account_sid)


def _purchasable(state: EmulatorState, raw: str) -> str:
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
    if not in_stock or e164 in state.owned_phone_numbers():
        raise bad_request(21422, "PhoneNumber is not available")
    return e164


def _first_in_area_code(state: EmulatorState, area_code: str) -> str:
    if area_code == MAGIC_AREA_CODE:
        return MAGIC_AVAILABLE
    if not re.fullmatch(r"[2-9]\d\d", area_code):
        raise bad_request(21451, "Invalid area code")
    owned = state.owned_phone_numbers()
    for block in _area_code_blocks(area_code):
        for available in stock(block):
            if available.phone_number not in owned:
                return available.phone_number
    raise bad_request(21452, "No phone numbers found in area code")


def _area_code_blocks(area_code: str) -> list[Block]:
    if area_code == MAGIC_EMPTY_AREA_CODE:
        return []
    if area_code in TOLL_FREE_PREFIXES:
        return [Block("US", "toll_free", area_code)]
    return [Block(country, "local", area_code) for country in sorted(NANP_COUNTRIES)]


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
        settings[_snake(name)] = value
    return settings


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _owned(state: EmulatorState, request: Request, sid: str) -> OwnedNumber:
    number = state.owned.get(sid)
    if number is None:
        raise not_found(request.path)
    return number


def fetch_number(state: EmulatorState, request: Request, sid: str) -> tuple[int, dict[str, Any]]:
    return 200, _owned(state, request, sid).to_json(state.account_sid)


def update_number(state: EmulatorState, request: Request, sid: str) -> tuple[int, dict[str, Any]]:
    number = _owned(state, request, sid)
    number.settings.update(_settings(request.form))
    number.date_updated = now()
    return 200, number.to_json(state.account_sid)


def release_number(state: EmulatorState, request: Request, sid: str) -> tuple[int, None]:
    del state.owned[_owned(state, request, sid).sid]  # back in stock: stock minus owned
    return 204, None


# --- Calls (no call is placed: the resource is created and stays "queued") ----------------------

def create_call(state: EmulatorState, request: Request) -> tuple[int, dict[str, Any]]:
    form = request.form
    if not form.get("To"):
        raise bad_request(21201, "No 'To' number specified")
    if not form.get("From"):
        raise bad_request(21213, "'From' phone number is required")
    if not (form.get("Twiml") or form.get("ApplicationSid") or _is_absolute_url(form.get("Url", ""))):
        raise bad_request(21205, "Invalid URL")
    if not _is_valid_number(form["To"]):
        raise bad_request(21211, "Invalid 'To' Phone Number")
    sender = next((n for n in state.owned.values() if n.phone_number == form["From"]), None)
    if sender is None:
        raise bad_request(21210, "'From' phone number not verified")
    moment = rfc2822(now())
    sid = new_sid("CA")
    call = {
        "sid": sid, "account_sid": state.account_sid, "to": form["To"], "from": form["From"],
        "phone_number_sid": sender.sid, "status": "queued", "direction": "outbound-api",
        "api_version": API_VERSION, "date_created": moment, "date_updated": moment,
        "start_time": None, "end_time": None, "duration": None, "price": None, "price_unit": "USD",
        "answered_by": None, "parent_call_sid": None, "caller_name": None,
        "uri": f"/{API_VERSION}/Accounts/{state.account_sid}/Calls/{sid}.json",
    }
    state.calls[sid] = call
    return 201, call


def list_calls(state: EmulatorState, request: Request) -> tuple[int, dict[str, Any]]:
    """Calls, newest first, filtered as Twilio filters them by ParentCallSid, To and Status."""
    query = request.query
    page_size = page_size_of(query)
    filters = {name: query[name] for name in ("ParentCallSid", "To", "Status") if name in query}
    fields = {"ParentCallSid": "parent_call_sid", "To": "to", "Status": "status"}
    calls = [c for c in reversed(list(state.calls.values()))
             if all(c.get(fields[name]) == value for name, value in filters.items())]
    return 200, _page("calls", calls[:page_size], request.path, filters, 0, page_size, len(calls) <= page_size)


def fetch_call(state: EmulatorState, request: Request, sid: str) -> tuple[int, dict[str, Any]]:
    call = state.calls.get(sid)
    if call is None:
        raise not_found(request.path)
    return 200, call


# --- Recordings (made by a recorded <Dial> of the voice simulator) ----------------------------

def list_recordings(state: EmulatorState, request: Request) -> tuple[int, dict[str, Any]]:
    """Recordings, newest first, filtered by CallSid as Twilio filters them."""
    query = request.query
    page_size = page_size_of(query)
    filters = {name: query[name] for name in ("CallSid",) if name in query}
    found = [r for r in reversed(list(state.recordings.values()))
             if "CallSid" not in filters or r["call_sid"] == filters["CallSid"]]
    return 200, _page("recordings", found[:page_size], request.path, filters, 0, page_size, len(found) <= page_size)


def fetch_recording(state: EmulatorState, request: Request, sid: str) -> tuple[int, dict[str, Any]]:
    recording = state.recordings.get(sid)
    if recording is None:
        raise not_found(request.path)
    return 200, recording


def recording_media(state: EmulatorState, request: Request, sid: str) -> tuple[int, Media]:
    """Its audio, once it is completed (before that, and for an absent one, there is none)."""
    recording = state.recordings.get(sid)
    if recording is None or recording["status"] != "completed":
        raise not_found(request.path)
    return 200, Media(WAV, wav(int(recording["duration"]), int(recording["channels"])))


def _is_absolute_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_valid_number(value: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value))
    except phonenumbers.NumberParseException:
        return False


# --- routing -----------------------------------------------------------------------------------

ACCOUNT_PATH = re.compile(rf"/{API_VERSION}/Accounts/(?P<account>[^/]+)/(?P<rest>.+)")
ROUTES = [  # (pattern of the path after the account, kind, {method: resource})
    (re.compile(r"AvailablePhoneNumbers/(?P<country>[^/]+)/(?P<url_type>Local|TollFree|Mobile)\.json"),
     AVAILABLE_PHONE_NUMBERS, {"GET": search}),
    (re.compile(r"IncomingPhoneNumbers(?:/(?P<url_type>Local|TollFree|Mobile))?\.json"),
     INCOMING_PHONE_NUMBERS, {"GET": list_numbers, "POST": buy}),
    (re.compile(r"IncomingPhoneNumbers/(?P<sid>PN[0-9a-fA-F]{32})\.json"),
     INCOMING_PHONE_NUMBER, {"GET": fetch_number, "POST": update_number, "DELETE": release_number}),
    (re.compile(r"Calls\.json"), CALLS, {"GET": list_calls, "POST": create_call}),
    (re.compile(r"Calls/(?P<sid>CA[0-9a-fA-F]{32})\.json"), CALL, {"GET": fetch_call}),
    (re.compile(r"Recordings\.json"), RECORDINGS, {"GET": list_recordings}),
    (re.compile(r"Recordings/(?P<sid>RE[0-9a-fA-F]{32})\.json"), RECORDING, {"GET": fetch_recording}),
    # The audio: .wav, or the URL with no extension, which Twilio answers with the WAV too.
    (re.compile(r"Recordings/(?P<sid>RE[0-9a-fA-F]{32})(?:\.wav)?"), RECORDING_MEDIA, {"GET": recording_media}),
]


def route(path: str) -> tuple[str | None, str, dict[str, Callable] | None, dict[str, str]]:
    """(account SID in the URL, kind, {method: resource}, path parameters)."""
    match = ACCOUNT_PATH.fullmatch(path)
    if not match:
        return None, UNKNOWN, None, {}
    for pattern, kind, handlers in ROUTES:
        found = pattern.fullmatch(match["rest"])
        if found:
            params = {name: value for name, value in found.groupdict().items() if value is not None}
            return match["account"], kind, handlers, params
    return match["account"], UNKNOWN, None, {}

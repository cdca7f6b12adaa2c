"""Every Twilio REST call the product makes. `twilio` is imported here only, and only when used.

Transient failures (timeouts, connection errors, 429/20429, 5xx) of idempotent requests are retried a
bounded number of times with backoff, within a deadline shorter than the API Lambda's timeout; permanent
ones are not. A buy is never repeated here: Twilio may have bought the number and lost the answer, so
the caller decides (the provisioning worker checks what the account owns, then SQS redelivers).
Twilio errors become product errors by Twilio's real codes.
"""
from __future__ import annotations

import re

import functools
import json
import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from chalicelib.config import get_settings
from chalicelib.observability import TWILIO_ERRORS, measure
from chalicelib.secret_store import secret
from chalicelib.domain.errors import Conflict, DomainError, NotFound, RateLimited, ValidationFailed

T = TypeVar("T")
ATTEMPTS = 3
BACKOFF_SECONDS = 0.25  # doubles each retry
# Every attempt and backoff of one call ends within this (the API Lambda times out at 28 s): a retry
# starts only if it can time out, at the request timeout, before the deadline.
DEADLINE_SECONDS = 21.0
_sleep: Callable[[float], None] = time.sleep  # tests replace it: no real waiting
_monotonic: Callable[[], float] = time.monotonic  # and this: time passing without waiting


class ProviderError(DomainError):
    """Twilio said no for a reason that is ours to fix, not the caller's."""

    type, status, default_code = "INTERNAL_ERROR", 502, "TELEPHONY_PROVIDER_ERROR"


class ProviderUnavailable(ProviderError):
    status, default_code = 503, "TELEPHONY_PROVIDER_UNAVAILABLE"


@dataclass
class TwilioFailure:
    """What Twilio answered, before it is mapped: the code, its message, and whether to retry."""

    code: int | None
    status: int | None
    message: str

    @property
    def transient(self) -> bool:
        return self.code == 20429 or self.status in (None, 429) or (self.status or 0) >= 500


_PERMANENT: dict[int, Callable[[str], DomainError]] = {
    21422: lambda m: Conflict("Phone number is not available", code="NUMBER_NOT_AVAILABLE"),
    21421: lambda m: ValidationFailed("Invalid phone number", code="INVALID_PHONE_NUMBER"),
    21452: lambda m: Conflict("This area code doesn't have any available phone numbers",
                              code="NO_NUMBERS_IN_AREA_CODE"),
    20404: lambda m: NotFound("Phone number not found", code="NUMBER_NOT_FOUND"),
    20003: lambda m: ProviderError("Permission denied by the telephony provider", code="PROVIDER_PERMISSION_DENIED"),
    20005: lambda m: ProviderError("Insufficient account balance", code="PROVIDER_ACCOUNT_INACTIVE"),
    10001: lambda m: ProviderError("Insufficient account balance", code="PROVIDER_ACCOUNT_INACTIVE"),
}


def to_product_error(failure: TwilioFailure) -> DomainError:
    if failure.code in _PERMANENT:
        return _PERMANENT[failure.code](failure.message)
    if failure.code == 20429 or failure.status == 429:
        return RateLimited("The telephony provider is limiting requests; try again shortly",
                           code="PROVIDER_RATE_LIMITED")
    if failure.transient:
        return ProviderUnavailable("The telephony provider is unavailable; try again shortly")
    return ProviderError(f"Twilio error {failure.code}" + _plain(failure.message), code=f"TWILIO_{failure.code}")


_PLAIN_SENTENCE = re.compile(r"[A-Za-z0-9 .,:;'()/+-]{1,200}")


def _plain(message: str | None) -> str:
    """Twilio's own words, when they are a short plain sentence (": Unable to create record: ..."); anything
    else (markup, control characters, a page of text) is not passed on."""
    return f": {message}" if message and _PLAIN_SENTENCE.fullmatch(message) else ""


class TwilioCallFailed(Exception):
    def __init__(self, failure: TwilioFailure):
        super().__init__(failure.message)
        self.failure = failure

    def product_error(self) -> DomainError:
        return to_product_error(self.failure)


def _failure(exc: Exception) -> TwilioFailure | None:
    import requests
    from twilio.base.exceptions import TwilioException, TwilioRestException

    if isinstance(exc, TwilioRestException):
        return TwilioFailure(exc.code, exc.status, exc.msg)
    if isinstance(exc, TwilioException) and len(exc.args) > 1:
        # List/search calls raise TwilioException("Unable to fetch page", response) instead.
        response = exc.args[1]
        try:
            body = json.loads(response.text)
        except ValueError:
            body = {}
        return TwilioFailure(body.get("code"), getattr(response, "status_code", None), body.get("message", str(exc)))
    if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
        return TwilioFailure(None, None, "Twilio did not answer in time")
    return None


def call(operation: Callable[[], T], *, retry: bool = True) -> T:
    """Run one Twilio request; an idempotent one (`retry`) with bounded retries of transient failures,
    all within DEADLINE_SECONDS."""
    started = _monotonic()
    timeout = get_settings().twilio_timeout_seconds
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return operation()
        except Exception as exc:  # narrowed by _failure: anything not from Twilio propagates
            failure = _failure(exc)
            if failure is None:
                raise
            measure(TWILIO_ERRORS)
            backoff = BACKOFF_SECONDS * 2 ** (attempt - 1)
            out_of_time = _monotonic() - started + backoff + timeout > DEADLINE_SECONDS
            if not retry or not failure.transient or attempt == ATTEMPTS or out_of_time:
                raise TwilioCallFailed(failure) from None
            _sleep(backoff)
    raise AssertionError("unreachable")


@functools.cache
def client() -> Any:
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    from chalicelib.gateways.twilio_http import BaseUrlHttpClient

    settings = get_settings()
    timeout = settings.twilio_timeout_seconds
    http = BaseUrlHttpClient(settings.twilio_api_base_url, timeout=timeout) if settings.twilio_api_base_url \
        else TwilioHttpClient(timeout=timeout)
    return Client(settings.twilio_account_sid, secret("TWILIO_AUTH_TOKEN"), http_client=http)


def reset() -> None:
    client.cache_clear()
    _media_session.cache_clear()


_SEARCH_KINDS = {"local": "local", "toll_free": "toll_free", "mobile": "mobile"}


def search(country_code: str, number_type: str, area_code: str | None, contains: str | None,
           limit: int) -> list[dict]:
    resource = getattr(client().available_phone_numbers(country_code), _SEARCH_KINDS[number_type])
    params: dict[str, Any] = {"limit": limit, "page_size": limit}
    if area_code:
        params["area_code"] = int(area_code)
    if contains:
        params["contains"] = contains
    found = call(lambda: resource.list(**params))
    return [{
        "phone_number": n.phone_number, "friendly_name": n.friendly_name, "locality": n.locality,
        "region": n.region, "iso_country": n.iso_country, "capabilities": dict(n.capabilities or {}),
    } for n in found]


def find_owned(phone_number: str) -> dict | None:
    """The account's IncomingPhoneNumber for this number, if it already owns it."""
    owned = call(lambda: client().incoming_phone_numbers.list(phone_number=phone_number, limit=20))
    exact = [n for n in owned if n.phone_number == phone_number]
    return _number(exact[0]) if exact else None


def buy(phone_number: str, friendly_name: str, voice_url: str | None, voice_method: str) -> dict:
    params: dict[str, Any] = {"phone_number": phone_number, "friendly_name": friendly_name}
    if voice_url:
        params.update(voice_url=voice_url, voice_method=voice_method)
    # Not idempotent: never retried (a lost answer would buy twice, or fail with 21422 for our own number).
    return _number(call(lambda: client().incoming_phone_numbers.create(**params), retry=False))


def configure(sid: str, **fields: Any) -> dict:
    """Update a number (friendly_name, voice_url, voice_method, status_callback ...)."""
    return _number(call(lambda: client().incoming_phone_numbers(sid).update(**fields)))


def release(sid: str) -> None:
    call(lambda: client().incoming_phone_numbers(sid).delete())


def fetch_call(sid: str) -> dict | None:
    """A call as Twilio knows it ({"sid", "status", "duration", "parent_call_sid"}), None when it knows none."""
    try:
        return _call(call(lambda: client().calls(sid).fetch()))
    except TwilioCallFailed as failure:
        if failure.failure.status == 404:
            return None
        raise


def legs_of(parent_sid: str) -> list[dict]:
    """The calls a call dialed (its <Dial>'s legs), newest first."""
    return [_call(leg) for leg in call(lambda: client().calls.list(parent_call_sid=parent_sid, limit=20))]


TWILIO_API = "https://api.twilio.com"


@functools.cache
def _media_session() -> Any:
    import requests

    return requests.Session()


def recording_audio(recording_sid: str) -> bytes | None:
    """A recording's audio (WAV: dual channel, as recorded), None when Twilio has none by that SID (deleted).
    Read from its media URL with the account's credentials: the SDK's client answers text, not audio."""
    from twilio.base.exceptions import TwilioRestException

    settings = get_settings()
    account = settings.twilio_account_sid
    url = f"{(settings.twilio_api_base_url or TWILIO_API).rstrip('/')}/2010-04-01/Accounts/{account}/Recordings/" \
          f"{recording_sid}.wav"

    def fetch() -> bytes:
        response = _media_session().get(url, auth=(account, secret("TWILIO_AUTH_TOKEN")),
                                        timeout=settings.twilio_timeout_seconds)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            body = body if isinstance(body, dict) else {}
            raise TwilioRestException(response.status_code, url, body.get("message", ""), body.get("code"))
        return response.content

    try:
        return call(fetch)
    except TwilioCallFailed as failure:
        if failure.failure.status == 404:
            return None
        raise


def _call(resource: Any) -> dict:
    duration = resource.duration
    return {"sid": resource.sid, "status": resource.status, "to": resource.to,
            "duration": int(duration) if duration not in (None, "") else None,
            "parent_call_sid": resource.parent_call_sid}


def _number(resource: Any) -> dict:
    return {"sid": resource.sid, "phone_number": resource.phone_number, "friendly_name": resource.friendly_name,
            "voice_url": resource.voice_url, "voice_method": resource.voice_method}

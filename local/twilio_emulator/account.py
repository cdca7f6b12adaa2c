"""One emulated Twilio account: the numbers it bought, its calls and their recordings, and what tests asked of
the emulator (faults to answer with, requests counted); with Twilio's way of refusing a request (TwilioError)."""
from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2  # shaped like a real SID, belongs to no one
DEFAULT_AUTH_TOKEN = "twilio-emulator-auth-token"

# Messages for the codes the fault injector is usually asked for (Twilio's error dictionary).
FAULT_MESSAGES = {20429: "Too Many Requests", 20500: "Internal Server Error",
                  20503: "Service Unavailable", 20005: "Account not active",
                  10001: "Account is not active"}


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


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def rfc2822(moment: datetime) -> str:
    return format_datetime(moment)  # "Mon, 02 Nov 2026 15:00:00 +0000", as Twilio writes dates


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


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


@dataclass(frozen=True)
class Media:
    """A body that is not JSON (a recording's audio)."""
    content_type: str
    data: bytes


@dataclass
class EmulatorState:
    """The account as the REST resources see it (a reset starts a new one, same SID); changed under the
    emulator's lock only."""
    account_sid: str
    owned: dict[str, OwnedNumber] = field(default_factory=dict)  # by SID, in order of purchase
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)  # by SID, as Recordings/{Sid}.json
    faults: list[Fault] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)  # (method, kind) -> requests served

    def owned_phone_numbers(self) -> set[str]:
        return {number.phone_number for number in self.owned.values()}

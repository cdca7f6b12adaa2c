"""Compliance rules as plain functions: blocked callers, DNC, TCPA calling hours, state restrictions."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING

import phonenumbers

from chalicelib.domain import phones
from chalicelib.domain.calls import OUTBOUND
from chalicelib.domain.errors import Forbidden

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

DEFAULT_WINDOW = ("08:00", "21:00")  # TCPA: no calls before 8 am or after 9 pm, callee's time
# States whose law requires every party's consent to record a call: a recorded call from one is told so first.
ALL_PARTY_CONSENT_STATES = frozenset({"CA", "DE", "FL", "IL", "MD", "MA", "MT", "NV", "NH", "PA", "WA"})
RECORDING_DISCLOSURE = "This call may be recorded for quality and training purposes."


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    reason: str  # what is recorded, for audits


def callee_zone(to_number: str, fallback: str) -> ZoneInfo:
    """The callee's time zone from its number; the configured zone when the number spans several
    zones or none is known."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415 - with the first call, not at import

    from phonenumbers import timezone as number_zones  # its data costs a cold start ~100 ms

    zones = [z for z in number_zones.time_zones_for_number(phones.parse_e164(to_number)) if z != "Etc/Unknown"]
    try:
        return ZoneInfo(zones[0] if len(zones) == 1 else fallback)
    except ZoneInfoNotFoundError:
        return ZoneInfo(fallback)


def within_window(local: datetime, start: str, end: str) -> bool:
    begins, ends = time.fromisoformat(start), time.fromisoformat(end)
    now = local.time().replace(tzinfo=None)
    return begins <= now < ends if begins <= ends else (now >= begins or now < ends)  # windows over midnight


def check_call(*, direction: str, from_number: str, to_number: str, now: datetime, dnc: dict | None,
               window: tuple[str, str], fallback_zone: str, restricted_states: set[str],
               blocked_callers: Iterable[str] = ()) -> Refusal | None:
    """The first rule the call breaks, or None. `dnc` is the DNC entry of the callee, if any;
    `blocked_callers` the platform's blocked numbers and prefixes (at least those the caller starts with)."""
    blocked = phones.longest_prefix_in(from_number, blocked_callers)
    if blocked is not None:  # known litigators and fraud, whichever way the call goes
        return Refusal("CALLER_BLOCKED", "Caller is blocked", f"{from_number} matches blocked caller {blocked}")
    if direction == OUTBOUND and dnc is not None:
        return Refusal("DNC_BLOCKED", "Number is on DNC list", f"{to_number} is on the {dnc['list_type']} DNC list")
    if direction == OUTBOUND:
        zone = callee_zone(to_number, fallback_zone)
        local = now.astimezone(zone)
        if not within_window(local, *window):
            return Refusal("TCPA_VIOLATION", "Call is outside the permitted calling hours",
                           f"callee local time {local:%H:%M} {zone.key} is outside {window[0]}-{window[1]}")
    for number in (from_number, to_number):
        state = phones.state_of(number)
        if state and state in restricted_states:
            return Refusal("GEO_RESTRICTED", "Call blocked by geographic restriction",
                           f"{number} is in restricted state {state}")
    return None


def recording_disclosure(caller_state: str | None) -> str | None:
    """What a recorded call says to its caller before it is bridged: the disclosure, where every party's
    consent is needed (the caller's state); nothing elsewhere."""
    return RECORDING_DISCLOSURE if caller_state in ALL_PARTY_CONSENT_STATES else None


def refuse(refusal: Refusal) -> Forbidden:
    return Forbidden(refusal.message, code=refusal.code)


def is_region(code: str) -> bool:
    return code in phonenumbers.SUPPORTED_REGIONS

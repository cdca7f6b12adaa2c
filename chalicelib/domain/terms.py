"""A bid profile's terms, the ones call centers buy by: conversion_seconds, schedule (hours of operation),
caps, blocked_callers and record_calls. Plain functions over the stored terms dict (every key optional):
routing, bidding, live calls and eligibility all ask the same questions here."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain import phones

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_CONVERSION_SECONDS = 3600
MAX_BLOCKED_CALLERS = 1000

# Why a profile did not take a call (a routing log's reasons, and eligibility's).
CLOSED, BLOCKED, CANNOT_PAY, BUDGET, SUSPENDED = "closed", "blocked", "cannot_pay", "budget", "suspended"
DUPLICATE_WINDOW, NOT_MATCHING = "duplicate_window", "not_matching"
CAP_WINDOWS = ("hourly", "daily", "monthly")
CAPS = ("concurrency", *CAP_WINDOWS)


def capped(cap: str) -> str:
    return f"capped:{cap}"


REASONS = (CLOSED, *(capped(cap) for cap in CAPS), BLOCKED, CANNOT_PAY, BUDGET, SUSPENDED, DUPLICATE_WINDOW,
           NOT_MATCHING)
ROUTED, DIALED, SKIPPED = "routed", "dialed", "skipped"

# A cap's counts: once a call is routed to the profile (a live call: once its seller answers), or once
# it converts.
CONNECTED, CONVERTED = "connected", "converted"


def conversion_seconds(terms: dict | None, default: int) -> int:
    value = (terms or {}).get("conversion_seconds")
    return default if value is None else int(value)


def records_calls(terms: dict | None) -> bool:
    return bool((terms or {}).get("record_calls"))


# --- hours of operation -----------------------------------------------------------------------------

@lru_cache(maxsize=256)
def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


def zone_of(terms: dict | None) -> ZoneInfo:
    """The profile's time zone (its schedule's): its caps count in it too; UTC without a schedule."""
    return zone(((terms or {}).get("schedule") or {}).get("timezone"))


def is_open(terms: dict | None, now: datetime) -> bool:
    """Inside one of the schedule's windows, local time, on a day that is not a closed date; no schedule
    is always open. Windows never cross midnight: [start_time, end_time), whole minutes "HH:MM" compared
    as text, so an end_time of "24:00" (the end of the day) meets the next day's "00:00" with no gap."""
    schedule = (terms or {}).get("schedule")
    if not schedule:
        return True
    local = now.astimezone(zone(schedule["timezone"]))
    if local.date().isoformat() in (schedule.get("closed_dates") or ()):
        return False
    day, minute = DAYS[local.weekday()], f"{local:%H:%M}"
    return any(day in window["days"] and window["start_time"] <= minute < window["end_time"]
               for window in schedule.get("windows") or ())


# --- blocked callers --------------------------------------------------------------------------------

def blocks(blocked: list[str] | tuple[str, ...] | None, number: str | None) -> bool:
    """A number, or a prefix of it, is on the list."""
    return bool(blocked and number) and not set(blocked).isdisjoint(phones.prefixes(number))


# --- caps ---------------------------------------------------------------------------------------

def caps_of(terms: dict | None) -> dict[str, Any]:
    return (terms or {}).get("caps") or {}


def counts_on(terms: dict | None) -> str:
    return caps_of(terms).get("counts") or CONNECTED


def window_keys(profile_id: str, terms: dict | None, now: datetime) -> dict[str, str]:
    """The counter keys of the clock hour, day and month `now` is in, in the profile's time zone. The hour
    key carries the UTC offset: the hour repeated when clocks go back is an hour of its own."""
    local = now.astimezone(zone_of(terms))
    return {"hourly": f"{profile_id}#hour#{local:%Y-%m-%dT%H%z}", "daily": f"{profile_id}#day#{local:%Y-%m-%d}",
            "monthly": f"{profile_id}#month#{local:%Y-%m}"}


def concurrency_key(profile_id: str) -> str:
    return f"{profile_id}#concurrent"


def window_purge(window: str, now: datetime) -> datetime:
    """When a window's counter is no longer read (a little after the window ends, whatever the zone)."""
    return now + {"hourly": timedelta(days=2), "daily": timedelta(days=3), "monthly": timedelta(days=33)}[window]


def reached(terms: dict | None, usage: dict[str, int]) -> list[str]:
    """The caps the profile is at, given its usage ({"concurrency", "hourly", "daily", "monthly"})."""
    caps = caps_of(terms)
    return [cap for cap in CAPS if caps.get(cap) is not None and usage.get(cap, 0) >= int(caps[cap])]


"""A bid profile's terms as plain functions (domain/terms.py): hours of operation in the schedule's zone,
DST included, windows that meet at midnight, blocked callers by number or prefix, and the cap windows'
counter keys."""
from datetime import datetime, timezone

import pytest

from chalicelib.domain import phones, routing, terms

CHICAGO = "America/Chicago"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def schedule(*windows, closed_dates=(), zone=CHICAGO) -> dict:
    return {"schedule": {"timezone": zone, "closed_dates": list(closed_dates),
                         "windows": [{"days": list(days), "start_time": start, "end_time": end}
                                     for days, start, end in windows]}}


EVERY_DAY = terms.DAYS
OFFICE = schedule((("mon", "tue", "wed", "thu", "fri"), "09:00", "17:00"))


def test_no_schedule_is_always_open():
    assert terms.is_open(None, utc(2026, 11, 2, 3, 0)) and terms.is_open({}, utc(2026, 11, 7, 12, 0))


@pytest.mark.parametrize("now, is_open", [
    (utc(2026, 11, 2, 15, 0), True),     # Monday 09:00 CST: the window's start is in it
    (utc(2026, 11, 2, 14, 59), False),   # 08:59
    (utc(2026, 11, 2, 22, 59), True),    # 16:59
    (utc(2026, 11, 2, 23, 0), False),    # 17:00: the end is not
    (utc(2026, 11, 7, 16, 0), False),    # Saturday 10:00
    (utc(2026, 11, 3, 2, 0), False),     # Monday 20:00 in Chicago, Tuesday in UTC
])
def test_open_inside_a_window_local_time(now, is_open):
    assert terms.is_open(OFFICE, now) is is_open


def test_two_windows_meeting_at_midnight_leave_no_gap():
    """A night shift Friday 22:00 to Saturday 06:00 is two windows; the first may end at 24:00."""
    night = schedule((("fri",), "22:00", "24:00"), (("sat",), "00:00", "06:00"))
    friday_night = [utc(2026, 11, 7, 4, 0), utc(2026, 11, 7, 5, 59, 30), utc(2026, 11, 7, 6, 0),
                    utc(2026, 11, 7, 11, 59)]  # 22:00 and 23:59:30 Friday, 00:00 and 05:59 Saturday
    assert all(terms.is_open(night, now) for now in friday_night)
    assert not terms.is_open(night, utc(2026, 11, 7, 3, 59))   # Friday 21:59
    assert not terms.is_open(night, utc(2026, 11, 7, 12, 0))   # Saturday 06:00
    assert not terms.is_open(night, utc(2026, 11, 6, 5, 0))    # Thursday 23:00: Friday's window only
    always = schedule((EVERY_DAY, "00:00", "24:00"))
    assert terms.is_open(always, utc(2026, 11, 3, 5, 59, 59))  # 23:59:59 in Chicago


def test_hours_follow_the_zone_across_both_dst_changes():
    # March 8, 2026: 02:00 CST becomes 03:00 CDT (UTC-6 to UTC-5).
    daily = schedule((EVERY_DAY, "09:00", "17:00"))
    assert terms.is_open(daily, utc(2026, 3, 7, 15, 0)) and not terms.is_open(daily, utc(2026, 3, 7, 14, 30))
    assert terms.is_open(daily, utc(2026, 3, 9, 14, 0)) and not terms.is_open(daily, utc(2026, 3, 9, 13, 30))
    assert not terms.is_open(daily, utc(2026, 3, 9, 22, 0)) and terms.is_open(daily, utc(2026, 3, 7, 22, 0))
    # The hour that does not exist: 02:00-03:00 on March 8 never opens; 01:30 CST and 03:30 CDT do.
    small_hours = schedule((EVERY_DAY, "01:00", "04:00"))
    assert terms.is_open(small_hours, utc(2026, 3, 8, 7, 30)) and terms.is_open(small_hours, utc(2026, 3, 8, 8, 30))
    assert not terms.is_open(schedule((EVERY_DAY, "02:00", "03:00")), utc(2026, 3, 8, 8, 0))
    # November 1, 2026: 02:00 CDT becomes 01:00 CST again: 01:30 happens twice, open both times.
    one_am = schedule((EVERY_DAY, "01:00", "02:00"))
    assert terms.is_open(one_am, utc(2026, 11, 1, 6, 30)) and terms.is_open(one_am, utc(2026, 11, 1, 7, 30))
    assert not terms.is_open(one_am, utc(2026, 11, 1, 8, 30))  # 02:30 CST
    assert terms.is_open(daily, utc(2026, 10, 30, 14, 0)) and not terms.is_open(daily, utc(2026, 11, 2, 14, 0))


def test_a_closed_date_is_a_local_date():
    christmas = schedule((EVERY_DAY, "00:00", "24:00"), closed_dates=["2026-12-25"])
    assert not terms.is_open(christmas, utc(2026, 12, 26, 3, 0))  # 21:00 on the 25th in Chicago
    assert terms.is_open(christmas, utc(2026, 12, 25, 5, 0))  # 23:00 on the 24th
    assert terms.is_open(christmas, utc(2026, 12, 26, 6, 0))  # 00:00 on the 26th


def test_a_number_is_blocked_by_itself_or_any_prefix():
    assert phones.prefixes("+1212") == ["+1", "+12", "+121", "+1212"]
    number = "+12125551234"
    for entry in ("+1", "+1212", "+121255", number):
        assert terms.blocks([entry], number)
    for entry in ("+44", "+1213", "+121255512345", "+2"):
        assert not terms.blocks([entry], number)
    assert terms.blocks(["+44", "+1415"], "+14155552671") and terms.blocks(["+44"], "+442071234567")
    assert not terms.blocks([], number) and not terms.blocks(None, number) and not terms.blocks(["+1"], None)


def test_window_keys_follow_the_zone_and_its_dst():
    chicago = schedule((EVERY_DAY, "00:00", "24:00"))
    first, repeated = (terms.window_keys("p", chicago, now)
                       for now in (utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 7, 30)))
    assert first["hourly"] != repeated["hourly"]  # 01:xx CDT and 01:xx CST are two hours
    assert first["daily"] == repeated["daily"] == "p#day#2026-11-01" and first["monthly"] == "p#month#2026-11"
    # The local day and month, not UTC's: 04:30 UTC on November 1 is October 31 in Chicago.
    late = terms.window_keys("p", chicago, utc(2026, 11, 1, 4, 30))
    assert late["daily"] == "p#day#2026-10-31" and late["monthly"] == "p#month#2026-10"
    assert terms.window_keys("p", None, utc(2026, 11, 1, 4, 30))["monthly"] == "p#month#2026-11"  # UTC
    # Spring: 01:59 CST and 03:00 CDT are consecutive minutes in two clock hours of one day.
    before, after = (terms.window_keys("p", chicago, now) for now in (utc(2026, 3, 8, 7, 59), utc(2026, 3, 8, 8, 0)))
    assert before["hourly"] != after["hourly"] and before["daily"] == after["daily"] == "p#day#2026-03-08"
    assert terms.window_keys("p", chicago, utc(2026, 3, 8, 8, 59))["hourly"] == after["hourly"]


def test_caps_reached():
    capped = {"caps": {"concurrency": 3, "hourly": 10, "daily": 50, "counts": "converted"}}
    assert terms.reached(capped, {"concurrency": 2, "hourly": 9, "daily": 49, "monthly": 10**6}) == []
    assert terms.reached(capped, {"concurrency": 3, "hourly": 10}) == ["concurrency", "hourly"]
    assert terms.reached(None, {"concurrency": 99}) == [] and terms.counts_on(capped) == terms.CONVERTED
    assert terms.counts_on({"caps": {"daily": 1}}) == terms.CONNECTED and terms.counts_on(None) == terms.CONNECTED


def test_routing_says_why_a_profile_is_passed_over_in_order():
    now = utc(2026, 11, 2, 18, 0)  # Monday noon in Chicago
    call = routing.CallFacts("US", "CA", "insurance", caller="+14155552671")

    def reason(bid=500, **kwargs):
        return routing.passed_over(routing.Candidate("p", "s", bid, now, **kwargs), call, now)

    saturday = schedule((("sat",), "09:00", "17:00"))
    assert reason() is None
    assert reason(call_types=("legal",), terms=saturday) == terms.NOT_MATCHING
    assert reason(terms={**saturday, "blocked_callers": ["+1415"]}) == terms.CLOSED
    assert reason(terms={**OFFICE, "blocked_callers": ["+1415"]}, budget_left=0) == terms.BLOCKED
    assert reason(budget_left=499, terms={"caps": {"daily": 1}}, usage={"daily": 1}) == terms.BUDGET
    assert reason(terms={"caps": {"daily": 1, "concurrency": 1}}, usage={"daily": 1, "concurrency": 1}) == \
        "capped:concurrency"
    assert reason(terms={"caps": {"monthly": 5}}, usage={"monthly": 5}) == "capped:monthly"

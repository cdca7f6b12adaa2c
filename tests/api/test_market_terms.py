"""A bid profile's terms over the API (issue 19): conversion_seconds, schedule (hours, in the schedule's zone,
across DST), caps (exact under concurrency, windows in the schedule's zone, counting connected or converted
calls), blocked_callers, and every call's routing_log, in instant routing, auctions and live calls; the
money of a call that does not convert, to the cent."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from chalicelib.caller import Principal
from chalicelib.domain.errors import DomainError
from tests.api.test_seller_protection import later
from tests.api.test_webhooks import dialed, said_goodbye, the_call, twilio  # noqa: F401 - twilio: a fixture
from tests.api.test_webhooks import buyer as live_buyer  # noqa: F401 - a fixture: the owner of an exchange number
from tests.helpers import error_fields

CALLER = "+14155552671"  # San Francisco: "+1415" blocks it
CALLEE = "+12125552671"
MONDAY_NOON_IN_CHICAGO = datetime(2026, 11, 2, 18, 0, tzinfo=timezone.utc)
OFFICE_HOURS = {"timezone": "America/Chicago",
                "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start_time": "09:00", "end_time": "17:00"}]}
WEEKENDS_ONLY = {"timezone": "America/Chicago",
                 "windows": [{"days": ["sat", "sun"], "start_time": "09:00", "end_time": "17:00"}]}
ALL_DAY = {"timezone": "America/Chicago", "windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                                       "start_time": "00:00", "end_time": "24:00"}]}


@pytest.fixture(autouse=True)
def monday_noon_in_chicago(clock):
    clock.current = MONDAY_NOON_IN_CHICAGO


class Market:
    """Users and their calls with as few requests as the test needs (one admin funds everyone)."""

    def __init__(self, api):
        self.api, self._admin = api, None

    @property
    def admin(self) -> dict:
        if self._admin is None:
            self._admin = self.api.admin()
        return self._admin

    def fund(self, user: dict, amount: str) -> None:
        credited = self.api.post(f"/admin/users/{user['user']['id']}/credits", {"amount": amount, "reason": "funds"},
                                 token=self.admin["token"], headers={"Idempotency-Key": str(uuid.uuid4())})
        assert credited.status == 201, credited.body

    def buyer(self, funds: str | None = "10.00") -> dict:
        user = self.api.register("buyer")
        if funds:
            self.fund(user, funds)
        return user

    def seller(self, funds: str | None = "100.00") -> dict:
        user = self.api.register("seller")
        if funds:
            self.fund(user, funds)
        return user

    def profile(self, seller: dict, bid: str | None = "5.00", criteria: dict | None = None, **terms) -> str:
        body = {"criteria": criteria or {}, "bid_amount": bid, "destination_number": "+13125550001", **terms}
        created = self.api.post("/bid-profiles", body, token=seller["token"])
        assert created.status == 201, created.body
        return created.data["id"]

    def seller_with(self, bid: str = "5.00", funds: str | None = "100.00", criteria: dict | None = None,
                    **terms) -> tuple[dict, str]:
        seller = self.seller(funds)
        return seller, self.profile(seller, bid, criteria, **terms)

    def call(self, buyer: dict, **overrides) -> str:
        body = {"from_number": CALLER, "to_number": CALLEE, "direction": "inbound", "call_type": "insurance",
                **overrides}
        created = self.api.post("/calls", body, token=buyer["token"])
        assert created.status == 201, created.body
        return created.data["id"]

    def route(self, buyer: dict, call_id: str):
        return self.api.post(f"/calls/{call_id}/route", token=buyer["token"])

    def routed(self, buyer: dict, **overrides) -> dict:
        routed = self.route(buyer, self.call(buyer, **overrides))
        assert routed.status == 200, routed.body
        return routed.data

    def deliver(self, buyer: dict, call_id: str, seconds: int) -> dict:
        for status in ("ringing", "in_progress"):
            moved = self.api.call("PATCH", f"/calls/{call_id}/status", {"status": status}, token=buyer["token"])
            assert moved.status == 200, moved.body
        done = self.api.post(f"/calls/{call_id}/complete", {"duration": seconds}, token=buyer["token"])
        assert done.status == 200, done.body
        return done.data

    def usage(self, seller: dict, profile_id: str) -> dict:
        shown = self.api.get(f"/bid-profiles/{profile_id}", token=seller["token"])
        assert shown.status == 200, shown.body
        return shown.data["usage"]

    def money(self, user: dict) -> tuple[str, str, str]:
        """(balance, held, earnings), from the account itself: tokens do not outlive the clock's moves."""
        from chalicelib.domain.money import format_money
        from chalicelib.persistence.tables import AccountModel

        account = AccountModel.get(user["user"]["id"], consistent_read=True)
        return format_money(int(account.balance)), format_money(int(account.held)), format_money(int(account.earnings))

    def books(self) -> dict:
        books = self.api.get("/admin/ledger", token=self.api.admin()["token"])
        assert books.status == 200, books.body
        data = books.data
        assert data["balanced"] is True and data["sum"] == "0.00" and data["holds_match"] is True, data
        return {a["account_id"]: a["balance"] for a in data["platform_accounts"]}


@pytest.fixture
def market(api):
    return Market(api)


def log_of(call: dict) -> list[tuple]:
    return [(e["profile_id"], e["outcome"], e["reason"]) for e in call["routing_log"]]


# --- the terms themselves ---------------------------------------------------------------------------

def test_terms_are_shown_changed_and_removed_and_usage_is_shown(api, market):
    seller = market.seller(funds=None)
    plain = api.get(f"/bid-profiles/{market.profile(seller)}", token=seller["token"]).data
    defaults = (plain["conversion_seconds"], plain["schedule"], plain["caps"], plain["blocked_callers"])
    assert defaults == (30, None, None, [])
    assert plain["usage"] == {"concurrent": 0, "hour": 0, "day": 0, "month": 0}  # shown for a profile without caps

    terms = {"conversion_seconds": 90, "blocked_callers": ["+1212", "+44", "+1212"],
             "caps": {"concurrency": 3, "hourly": 10, "daily": 50, "monthly": 1000, "counts": "converted"},
             "schedule": {**OFFICE_HOURS, "closed_dates": ["2026-12-25"]}}
    created = api.post("/bid-profiles", {"bid_amount": "5.00", "destination_number": "+13125550001", **terms},
                       token=seller["token"]).data
    assert created["conversion_seconds"] == 90 and created["blocked_callers"] == ["+1212", "+44"]  # each once
    assert created["caps"] == terms["caps"] and created["schedule"] == terms["schedule"]
    path = f"/bid-profiles/{created['id']}"
    changed = api.put(path, {"caps": {"daily": 5}, "blocked_callers": None, "conversion_seconds": 0},
                      token=seller["token"]).data
    assert changed["caps"] == {"concurrency": None, "hourly": None, "daily": 5, "monthly": None, "counts": "connected"}
    assert changed["blocked_callers"] == [] and changed["conversion_seconds"] == 0
    assert changed["schedule"] == terms["schedule"]  # what the PUT did not name stays
    removed = api.put(path, {"schedule": None, "caps": None, "conversion_seconds": None}, token=seller["token"]).data
    assert (removed["schedule"], removed["caps"], removed["conversion_seconds"]) == (None, None, 30)
    shown = api.get(path, token=seller["token"]).data
    assert (shown["schedule"], shown["caps"], shown["conversion_seconds"]) == (None, None, 30)
    assert [p["conversion_seconds"] for p in api.get("/bid-profiles", token=seller["token"]).data] == [30, 30]


BAD_TERMS = [
    ({"schedule": {**OFFICE_HOURS, "timezone": "America/Springfield"}}, "schedule.timezone"),
    ({"schedule": {**OFFICE_HOURS, "windows": [{"days": ["mon"], "start_time": "17:00", "end_time": "09:00"}]}},
     "schedule.windows.0"),
    ({"schedule": {**OFFICE_HOURS, "windows": [{"days": ["mon"], "start_time": "09:00", "end_time": "09:00"}]}},
     "schedule.windows.0"),
    ({"schedule": {**OFFICE_HOURS, "windows": [{"days": ["monday"], "start_time": "09:00", "end_time": "17:00"}]}},
     "schedule.windows.0.days.0"),
    ({"schedule": {**OFFICE_HOURS, "windows": [{"days": ["mon"], "start_time": "24:00", "end_time": "24:00"}]}},
     "schedule.windows.0.start_time"),
    ({"schedule": {**OFFICE_HOURS, "windows": [{"days": ["mon"], "start_time": "09:00", "end_time": "24:30"}]}},
     "schedule.windows.0.end_time"),
    ({"schedule": {**OFFICE_HOURS, "closed_dates": ["2026-02-30"]}}, "schedule.closed_dates.0"),
    ({"schedule": {"timezone": "UTC", "windows": []}}, "schedule.windows"),
    ({"caps": {"concurrency": 0}}, "caps.concurrency"),
    ({"caps": {"hourly": -1}}, "caps.hourly"),
    ({"caps": {"daily": 1.5}}, "caps.daily"),
    ({"caps": {"monthly": 0}}, "caps.monthly"),
    ({"caps": {"daily": 5, "counts": "answered"}}, "caps.counts"),
    ({"conversion_seconds": 3601}, "conversion_seconds"),
    ({"conversion_seconds": -1}, "conversion_seconds"),
    ({"blocked_callers": ["12125551234"]}, "blocked_callers.0"),
    ({"blocked_callers": ["+1 212"]}, "blocked_callers.0"),
    ({"blocked_callers": ["+"]}, "blocked_callers.0"),
    ({"blocked_callers": [f"+1212555{n:04d}" for n in range(1001)]}, "blocked_callers"),
]


def test_bad_terms_are_400_with_the_envelope_and_change_nothing(api, market):
    seller = market.seller(funds=None)
    profile_id = market.profile(seller, conversion_seconds=45)
    for terms, field in BAD_TERMS:
        created = api.post("/bid-profiles", {"bid_amount": "5.00", "destination_number": "+13125550001", **terms},
                           token=seller["token"])
        assert created.status == 400 and created.error["type"] == "VALIDATION_ERROR", (terms, created.body)
        assert field in error_fields(created), (terms, created.error)
        changed = api.put(f"/bid-profiles/{profile_id}", {"conversion_seconds": 60, **terms}, token=seller["token"])
        assert changed.status == 400 and field in error_fields(changed), (terms, changed.body)
    listed = api.get("/bid-profiles", token=seller["token"]).data
    assert [(p["id"], p["conversion_seconds"]) for p in listed] == [(profile_id, 45)]  # nothing written
    at_most = api.post("/bid-profiles", {"bid_amount": "5.00", "destination_number": "+13125550001",
                                         "conversion_seconds": 3600,
                                         "blocked_callers": [f"+1212555{n:04d}" for n in range(1000)]},
                       token=seller["token"])
    assert at_most.status == 201 and len(at_most.data["blocked_callers"]) == 1000


# --- instant routing and the routing log ------------------------------------------------------------

def test_routing_passes_over_each_term_in_order_and_each_role_sees_its_share_of_the_log(api, market):
    buyer = market.buyer()
    mine = market.seller()
    closed = market.profile(mine, "9.00", schedule=WEEKENDS_ONLY)
    rival, blocking = market.seller_with("8.00", blocked_callers=["+44", "+1415"])
    _, budgeted = market.seller_with("7.50", criteria={"max_budget": "5.00"})
    _, legal = market.seller_with("7.00", criteria={"call_type": ["legal"]})
    _, unfunded = market.seller_with("6.50", funds=None)
    taken = market.profile(mine, "6.00", schedule=OFFICE_HOURS, blocked_callers=["+1212"])
    market.seller_with("5.00")  # never looked at: routing stopped before it

    routed = market.routed(buyer)
    assert routed["seller_id"] == mine["user"]["id"] and routed["profile_id"] == taken and routed["price"] == "6.00"
    whole = [(closed, "skipped", "closed"), (blocking, "skipped", "blocked"), (budgeted, "skipped", "budget"),
             (legal, "skipped", "not_matching"), (unfunded, "skipped", "cannot_pay"), (taken, "routed", None)]
    assert log_of(routed) == whole
    path = f"/calls/{routed['id']}"
    assert log_of(api.get(path, token=buyer["token"]).data) == whole
    assert log_of(api.get(path, token=market.admin["token"]).data) == whole
    own = [(closed, "skipped", "closed"), (taken, "routed", None)]
    assert log_of(api.get(path, token=mine["token"]).data) == own  # never a rival's profile
    assert [log_of(c) for c in api.get("/calls", token=mine["token"]).data] == [own]
    assert api.get(path, token=rival["token"]).status == 404  # a rival seller cannot read the call at all


def test_a_rival_seller_cannot_read_the_call_and_an_unrouted_call_keeps_its_log(api, market):
    buyer = market.buyer()
    closer, closed = market.seller_with("9.00", schedule={**OFFICE_HOURS, "closed_dates": ["2026-11-02"]})
    blocker, blocking = market.seller_with("8.00", blocked_callers=[CALLER])
    call_id = market.call(buyer)
    unrouted = market.route(buyer, call_id)
    assert unrouted.status == 400 and unrouted.error["code"] == "NO_BIDS_AVAILABLE"
    shown = api.get(f"/calls/{call_id}", token=buyer["token"]).data
    assert shown["status"] == "pending" and shown["seller_id"] is None
    assert log_of(shown) == [(closed, "skipped", "closed"), (blocking, "skipped", "blocked")]
    for rival in (closer, blocker):
        assert api.get(f"/calls/{call_id}", token=rival["token"]).status == 404
    # The seller unblocks the caller: routing reads the change at once (the profile's route entries copy it).
    assert api.put(f"/bid-profiles/{blocking}", {"blocked_callers": None}, token=blocker["token"]).status == 200
    routed = market.route(buyer, call_id)
    assert routed.status == 200 and log_of(routed.data)[-1] == (blocking, "routed", None)
    # Another caller is not blocked: routed to the profile, which reads it (its own entries only).
    assert api.put(f"/bid-profiles/{blocking}", {"blocked_callers": ["+1415"]}, token=blocker["token"]).status == 200
    other = market.routed(buyer, from_number="+13125559999")
    assert other["profile_id"] == blocking
    assert log_of(api.get(f"/calls/{other['id']}", token=blocker["token"]).data) == [(blocking, "routed", None)]
    assert api.get(f"/calls/{other['id']}", token=closer["token"]).status == 404


def test_hours_follow_the_schedules_zone_across_both_dst_changes(api, market, clock):
    """09:00 in Chicago is 15:00 UTC in winter and 14:00 UTC in summer: at 14:30 UTC the office is open in
    summer time only."""
    clock.current = datetime(2026, 3, 6, 14, 30, tzinfo=timezone.utc)  # Friday 08:30 CST
    buyer = market.buyer()
    seller, office = market.seller_with("9.00", schedule=OFFICE_HOURS)
    _, always = market.seller_with("5.00")
    expected = {datetime(2026, 3, 6, 14, 30): always,
                datetime(2026, 3, 9, 14, 30): office,    # Monday 09:30 CDT
                datetime(2026, 10, 30, 14, 30): office,  # Friday 09:30 CDT
                datetime(2026, 11, 2, 14, 30): always,   # Monday 08:30 CST
                datetime(2026, 11, 2, 15, 0): office,    # 09:00 CST
                datetime(2026, 11, 2, 22, 59): office,   # 16:59 CST
                datetime(2026, 11, 2, 23, 0): always}    # 17:00 CST
    for when, profile_id in expected.items():
        clock.current = when.replace(tzinfo=timezone.utc)
        later(api, clock, buyer)
        routed = market.routed(buyer)
        assert routed["profile_id"] == profile_id, when
        if profile_id == always:
            assert log_of(routed)[0] == (office, "skipped", "closed")
        market.api.call("PATCH", f"/calls/{routed['id']}/status", {"status": "failed"}, token=buyer["token"])


# --- caps -------------------------------------------------------------------------------------------

def test_twenty_routings_at_once_route_exactly_concurrency_to_a_capped_profile_and_an_end_frees_a_slot(
        api, market, monkeypatch):
    """Every routing reads the capped profile as free (as routings that all read before any wrote would):
    its slots' conditional writes alone keep it to 3."""
    from chalicelib.persistence import cap_counters
    from chalicelib.services import calls, routing

    seller, capped = market.seller_with("9.00", caps={"concurrency": 3})
    other, fallback = market.seller_with("5.00")
    buyers = [market.buyer(), market.buyer()]  # a buyer has at most 10 routed calls that have not ended
    later_buyer = market.buyer()
    principals = [Principal(b["user"]["id"], "buyer", "s", None) for b in buyers]
    body = {"from_number": CALLER, "to_number": CALLEE, "direction": "inbound", "keywords": []}
    owned = [(p, calls.create_call(p, body).call_id) for p in principals for _ in range(10)]

    def route(pair):
        try:
            return routing.route_call(*pair)
        except DomainError as error:
            return error

    with monkeypatch.context() as stale, ThreadPoolExecutor(20) as pool:
        stale.setattr(cap_counters, "counts", lambda profiles, now: {})
        routed = list(pool.map(route, owned))
    assert not [r for r in routed if isinstance(r, DomainError)], routed
    by_profile = {capped: [], fallback: []}
    for call in routed:
        by_profile[call.profile_id].append(call)
    assert len(by_profile[capped]) == 3 and len(by_profile[fallback]) == 17
    for call in by_profile[fallback]:  # passed over when its slot's write was refused
        assert [(e["profile_id"], e["outcome"], e["reason"]) for e in call.routing_log] == [
            (capped, "skipped", "capped:concurrency"), (fallback, "routed", None)]
    assert market.usage(seller, capped) == {"concurrent": 3, "hour": 3, "day": 3, "month": 3}
    assert market.usage(other, fallback)["concurrent"] == 17
    assert market.money(seller)[1] == "27.00" and market.money(other)[1] == "85.00"

    # A call that ends, however, frees its slot at once: the next call takes it.
    first, second = by_profile[capped][:2]
    owner = {p.user_id: b for p, b in zip(principals, buyers)}
    market.deliver(owner[first.owner_id], first.call_id, 45)
    assert market.usage(seller, capped) == {"concurrent": 2, "hour": 3, "day": 3, "month": 3}
    assert market.routed(later_buyer)["profile_id"] == capped
    assert market.routed(later_buyer)["profile_id"] == fallback
    moved = api.call("PATCH", f"/calls/{second.call_id}/status", {"status": "no_answer"},
                     token=owner[second.owner_id]["token"])
    assert moved.status == 200 and market.usage(seller, capped)["concurrent"] == 2
    assert moved.data["converted"] is False  # ended, and never converted
    assert market.routed(later_buyer)["profile_id"] == capped


def test_a_daily_cap_counts_the_schedules_day_and_an_hourly_cap_the_clock_hour(api, market, clock):
    clock.current = datetime(2026, 11, 2, 5, 30, tzinfo=timezone.utc)  # Sunday November 1, 23:30 in Chicago
    buyer = market.buyer()
    seller, daily = market.seller_with("9.00", schedule=ALL_DAY, caps={"daily": 1})
    hourly_seller, hourly = market.seller_with("8.00", caps={"hourly": 1})  # UTC
    _, fallback = market.seller_with("5.00")
    assert market.routed(buyer)["profile_id"] == daily
    assert market.routed(buyer)["profile_id"] == hourly
    third = market.routed(buyer)
    assert log_of(third) == [(daily, "skipped", "capped:daily"), (hourly, "skipped", "capped:hourly"),
                             (fallback, "routed", None)]
    assert market.usage(seller, daily) == {"concurrent": 1, "hour": 1, "day": 1, "month": 1}
    # 40 minutes later: 00:10 on November 2 in Chicago, a new day there (still 2 November in UTC); 06:10 UTC
    # is a new clock hour too.
    later(api, clock, buyer, seller, minutes=40)
    assert market.routed(buyer)["profile_id"] == daily
    assert market.routed(buyer)["profile_id"] == hourly
    assert market.usage(seller, daily) == {"concurrent": 2, "hour": 1, "day": 1, "month": 2}


def test_a_cap_that_counts_converted_calls_counts_them_when_they_convert(api, market, clock):
    buyer = market.buyer()
    seller, capped = market.seller_with("9.00", conversion_seconds=60, caps={"hourly": 1, "counts": "converted"})
    _, fallback = market.seller_with("5.00")
    first = market.routed(buyer)
    assert first["profile_id"] == capped and market.usage(seller, capped)["hour"] == 0  # routed, not converted
    assert market.deliver(buyer, first["id"], 59)["converted"] is False
    assert market.usage(seller, capped) == {"concurrent": 0, "hour": 0, "day": 0, "month": 0}
    second = market.routed(buyer)
    assert second["profile_id"] == capped  # the first did not count
    assert market.deliver(buyer, second["id"], 60)["converted"] is True
    assert market.usage(seller, capped) == {"concurrent": 0, "hour": 1, "day": 1, "month": 1}
    assert log_of(market.routed(buyer)) == [(capped, "skipped", "capped:hourly"), (fallback, "routed", None)]
    later(api, clock, buyer, hours=1)
    assert market.routed(buyer)["profile_id"] == capped


# --- conversion and its money ---------------------------------------------------------------------------

def test_a_reported_call_that_does_not_convert_moves_no_money_between_seller_and_buyer(api, market):
    buyer = market.buyer("10.00")
    seller, profile_id = market.seller_with("5.00", conversion_seconds=120, criteria={"max_budget": "5.00"})
    first = market.routed(buyer)
    assert first["converted"] is None and first["billable"] is None
    assert market.money(seller) == ("95.00", "5.00", "0.00")  # the price held
    done = market.deliver(buyer, first["id"], 119)
    assert (done["converted"], done["billable"], done["billed_seconds"], done["cost"]) == (False, False, 119, "0.04")
    assert market.money(seller) == ("100.00", "0.00", "0.00")  # the hold goes back
    assert market.money(buyer) == ("9.96", "0.00", "0.00")  # two started minutes of telephony, nothing earned
    assert api.get(f"/calls/{first['id']}", token=seller["token"]).data["converted"] is False

    # A buyer who can pay one minute is billed one minute of a two-minute call that does not convert; the
    # day's budget (5.00, one call) came back with the hold, so the profile takes it.
    poor = market.buyer("0.02")
    call = market.routed(poor, from_number="+13125558888")
    assert call["profile_id"] == profile_id
    done = market.deliver(poor, call["id"], 119)
    assert (done["converted"], done["billed_seconds"], done["cost"], done["duration"]) == (False, 60, "0.02", 119)
    assert market.money(poor) == ("0.00", "0.00", "0.00") and market.money(seller) == ("100.00", "0.00", "0.00")

    second = market.routed(buyer)
    assert second["profile_id"] == profile_id
    done = market.deliver(buyer, second["id"], 120)
    assert (done["converted"], done["billable"], done["cost"]) == (True, True, "0.04")
    assert market.money(seller) == ("95.00", "0.00", "0.00")
    assert market.money(buyer) == ("9.96", "0.00", "3.96")  # 5.00 less the 20 % take, less the telephony
    platform = market.books()
    assert platform["platform:telephony"] == "0.10" and platform["platform:telephony_loss"] == "0.00"
    assert platform["platform:revenue"] == "1.00"


def test_a_live_call_that_does_not_convert_charges_its_buyer_what_it_can_and_the_rest_is_telephony_loss(
        api, market, twilio, live_buyer):
    seller, profile_id = market.seller_with("5.00", conversion_seconds=120)
    sid = "CA" + "4" * 32
    assert dialed(twilio.voice(sid))[0] == "+13125550001"
    twilio.leg(sid, "in-progress")
    assert market.usage(seller, profile_id) == {"concurrent": 1, "hour": 1, "day": 1, "month": 1}  # answered
    twilio.dial_action(sid, "completed", 90)
    call_id = the_call(sid).call_id
    shown = api.get(f"/calls/{call_id}", token=live_buyer["token"]).data
    assert (shown["status"], shown["converted"], shown["billable"], shown["duration"], shown["billed_seconds"],
            shown["cost"]) == ("completed", False, False, 90, 0, "0.00")
    assert market.money(seller) == ("100.00", "0.00", "0.00") and market.money(live_buyer) == ("0.00", "0.00", "0.00")
    platform = market.books()  # Twilio carried two minutes nobody could pay
    assert platform["platform:telephony"] == "0.04" and platform["platform:telephony_loss"] == "-0.04"

    market.fund(live_buyer, "0.03")  # one minute, and one cent that does not pay another
    sid = "CA" + "5" * 32
    dialed(twilio.voice(sid))
    twilio.dial_action(sid, "completed", 119)
    done = the_call(sid)
    assert (done.converted, done.billable, done.billed_seconds, done.cost) == (False, False, 60, 200)
    assert market.money(live_buyer) == ("0.01", "0.00", "0.00")
    platform = market.books()
    assert platform["platform:telephony"] == "0.08" and platform["platform:telephony_loss"] == "-0.06"
    assert market.usage(seller, profile_id)["hour"] == 2  # counted when billed: its answer was not told

    sid = "CA" + "6" * 32
    dialed(twilio.voice(sid))
    twilio.dial_action(sid, "completed", 120)
    done = the_call(sid)
    assert (done.converted, done.billable, done.cost) == (True, True, 400)  # paid from its payout
    assert market.money(seller) == ("95.00", "0.00", "0.00") and market.money(live_buyer) == ("0.01", "0.00", "3.96")
    platform = market.books()
    assert platform["platform:telephony"] == "0.12" and platform["platform:telephony_loss"] == "-0.06"


# --- live calls -------------------------------------------------------------------------------------

def test_the_ring_tree_passes_over_each_term_and_logs_whom_it_dialed(api, market, twilio, live_buyer):
    _, blocking = market.seller_with("9.00", blocked_callers=["+1415"])
    _, closed = market.seller_with("8.00", schedule=WEEKENDS_ONLY)
    full_seller, full = market.seller_with("7.00", caps={"concurrency": 1})
    first_seller, first = market.seller_with("6.00")
    second_seller, second = market.seller_with("5.00")
    reporter = market.buyer()
    assert market.routed(reporter)["profile_id"] == full  # its one slot is taken

    sid = "CA" + "7" * 32
    dialed(twilio.voice(sid))
    skipped = [(blocking, "skipped", "blocked"), (closed, "skipped", "closed"), (full, "skipped", "capped:concurrency")]
    assert log_of(api.get(f"/calls/{the_call(sid).call_id}", token=live_buyer["token"]).data) == \
        [*skipped, (first, "dialed", None)]
    dialed(twilio.dial_action(sid, "no-answer"))
    twilio.leg(sid, "in-progress")
    twilio.dial_action(sid, "completed", 60)
    call_id = the_call(sid).call_id
    whole = [*skipped, (first, "dialed", None), (second, "dialed", None)]
    assert log_of(api.get(f"/calls/{call_id}", token=live_buyer["token"]).data) == whole
    assert log_of(api.get(f"/calls/{call_id}", token=market.admin["token"]).data) == whole
    shown = api.get(f"/calls/{call_id}", token=second_seller["token"]).data
    assert log_of(shown) == [(second, "dialed", None)] and shown["converted"] is True
    assert api.get(f"/calls/{call_id}", token=first_seller["token"]).status == 404  # no longer its call
    assert market.usage(first_seller, first)["concurrent"] == 0 and market.usage(second_seller, second) == {
        "concurrent": 0, "hour": 1, "day": 1, "month": 1}
    assert market.usage(full_seller, full)["concurrent"] == 1


def test_a_live_call_nobody_may_take_ends_with_its_log(api, market, twilio, live_buyer):
    _, closed = market.seller_with("9.00", schedule=WEEKENDS_ONLY)
    _, blocking = market.seller_with("8.00", blocked_callers=[CALLER])
    sid = "CA" + "8" * 32
    assert said_goodbye(twilio.voice(sid))
    shown = api.get(f"/calls/{the_call(sid).call_id}", token=live_buyer["token"]).data
    assert shown["status"] == "failed" and shown["seller_id"] is None and shown["converted"] is False
    assert log_of(shown) == [(closed, "skipped", "closed"), (blocking, "skipped", "blocked")]


# --- auctions ---------------------------------------------------------------------------------------

def test_an_auction_is_offered_only_to_profiles_open_and_not_blocking_the_caller(api, market, outbox):
    buyer = market.buyer()
    open_one = market.seller()
    market.profile(open_one, schedule=OFFICE_HOURS, blocked_callers=["+1212"])
    closed_one, _ = market.seller_with(schedule=WEEKENDS_ONLY)
    blocking_one, _ = market.seller_with(blocked_callers=["+14155552671"])
    both = market.seller()  # one profile blocks the caller, the other takes it: the bid is on the other
    market.profile(both, "9.00", blocked_callers=["+1415"])
    taking = market.profile(both, "4.00")
    outbox.publish()  # what the setup owed

    opened = api.post("/auctions", {"call_id": market.call(buyer), "reserve_price": "1.00", "duration": 60},
                      token=buyer["token"])
    assert opened.status == 201, opened.body
    auction_id = opened.data["id"]
    outbox.publish()

    def told(user) -> list[str]:
        events = api.get("/events", token=user["token"]).data
        return [e["data"]["auction"]["id"] for e in events if e["type"] == "auction.started"]

    assert told(open_one) == [auction_id] and told(both) == [auction_id]
    assert told(closed_one) == [] and told(blocking_one) == []

    def listed(user) -> list[str]:
        return [a["id"] for a in api.get("/auctions?status=active", token=user["token"]).data]

    assert listed(open_one) == [auction_id] and listed(closed_one) == [] and listed(blocking_one) == []
    bid = api.post("/bids", {"auction_id": auction_id, "amount": "3.00"}, token=closed_one["token"])
    assert bid.status == 409 and bid.error["code"] == "PROFILE_CLOSED"
    bid = api.post("/bids", {"auction_id": auction_id, "amount": "3.00"}, token=blocking_one["token"])
    assert bid.status == 400 and bid.error["code"] == "NO_MATCHING_PROFILE"  # not offered to it, whatever the hour
    placed = api.post("/bids", {"auction_id": auction_id, "amount": "3.00"}, token=both["token"])
    assert placed.status == 201 and placed.data["profile_id"] == taking
    assert api.post("/bids", {"auction_id": auction_id, "amount": "2.00"}, token=open_one["token"]).status == 201


def test_an_auction_winner_ruled_out_since_falls_to_the_next_valid_bid_billed_on_its_conversion_seconds(api, market):
    buyer = market.buyer()
    closing, closing_profile = market.seller_with(bid=None)  # bids in auctions only
    blocking, blocking_profile = market.seller_with("1.00")
    taker, taker_profile = market.seller_with("1.00", conversion_seconds=10)
    full, full_profile = market.seller_with("2.00", caps={"concurrency": 1})
    assert market.routed(buyer)["profile_id"] == full_profile  # its one slot is taken
    call_id = market.call(buyer)
    auction_id = api.post("/auctions", {"call_id": call_id, "reserve_price": "1.00", "duration": 60},
                          token=buyer["token"]).data["id"]
    for user, amount in ((closing, "9.00"), (blocking, "8.00"), (full, "7.50"), (taker, "7.00")):
        assert api.post("/bids", {"auction_id": auction_id, "amount": amount}, token=user["token"]).status == 201
    decided = api.post(f"/auctions/{auction_id}/complete", token=buyer["token"]).data
    assert decided["winner"]["seller_id"] == closing["user"]["id"]
    # After the decision the winner closes for the day and the runner-up blocks the caller.
    assert api.put(f"/bid-profiles/{closing_profile}", {"schedule": WEEKENDS_ONLY},
                   token=closing["token"]).status == 200
    assert api.put(f"/bid-profiles/{blocking_profile}", {"blocked_callers": ["+1415"]},
                   token=blocking["token"]).status == 200

    routed = market.route(buyer, call_id)
    assert routed.status == 200, routed.body
    assert (routed.data["seller_id"], routed.data["price"]) == (taker["user"]["id"], "7.00")
    assert log_of(routed.data) == [(closing_profile, "skipped", "closed"), (blocking_profile, "skipped", "blocked"),
                                   (full_profile, "skipped", "capped:concurrency"), (taker_profile, "routed", None)]
    done = market.deliver(buyer, call_id, 15)  # below the platform's 30 seconds, above the profile's 10
    assert (done["converted"], done["billable"]) == (True, True)
    assert market.money(taker) == ("93.00", "0.00", "0.00") and market.money(buyer) == ("10.00", "0.00", "5.58")


def test_a_sellers_book_holds_many_profiles_with_long_blocked_lists(api, clock):
    """The book copies no blocked callers (only that a profile blocks some): 30 profiles of 1,000 entries
    each would be over DynamoDB's 400 KB item size. A bid still honours each profile's list."""
    from chalicelib.persistence.tables import SellerBookModel

    seller = api.register("seller")
    api.fund(seller)
    blocked = [f"+1212555{n:04d}" for n in range(1000)]
    for _ in range(30):
        created = api.post("/bid-profiles", {"criteria": {}, "bid_amount": "5.00", "blocked_callers": blocked},
                           token=seller["token"])
        assert created.status == 201, created.body
    book = SellerBookModel.get(seller["user"]["id"])
    assert len(book.profiles) == 30 and all("blocked_callers" not in p["terms"] for p in book.profiles.values())

"""GET /bid-profiles/{id}/eligibility: whether a profile would take such a call now, and every reason
why not, in the routing log's words; only for its seller."""
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest

from tests.api.test_seller_protection import later

CALLER = "+14155552671"  # San Francisco, CA
CALLEE = "+12125551234"
# Monday 2 November 2026, 15:00 UTC: 09:00 in Chicago.
MONDAY_MORNING_IN_CHICAGO = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
WEEKDAYS = {"timezone": "America/Chicago",
            "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start_time": "09:00", "end_time": "17:00"}]}


@pytest.fixture
def seller(api):
    user = api.register("seller")
    api.fund(user, "100.00")
    return user


def new_profile(api, seller, **terms):
    body = {"criteria": {"geography": {"countries": ["US"]}}, "bid_amount": "5.00",
            "destination_number": "+13125552671", **terms}
    created = api.post("/bid-profiles", body, token=seller["token"])
    assert created.status == 201, created.body
    return created.data


def eligibility(api, user, profile_id, from_number=CALLER, to_number=CALLEE):
    query = urlencode({"from_number": from_number, "to_number": to_number})
    return api.get(f"/bid-profiles/{profile_id}/eligibility?{query}", token=user["token"])


def test_an_open_profile_with_room_is_eligible(api, seller, clock):
    clock.current = MONDAY_MORNING_IN_CHICAGO
    profile = new_profile(api, seller, schedule=WEEKDAYS, caps={"daily": 5})
    answer = eligibility(api, seller, profile["id"])
    assert answer.status == 200 and answer.data == {"eligible": True, "reasons": []}


def test_every_reason_is_told_at_once(api, seller, clock):
    clock.current = MONDAY_MORNING_IN_CHICAGO
    profile = new_profile(api, seller, schedule=WEEKDAYS, blocked_callers=["+1415"],
                          criteria={"geography": {"states": ["TX"]}, "max_budget": "4.00"})
    # A caller in Texas, on a weekday morning: only the budget (4.00 a day for a 5.00 bid) stands.
    assert eligibility(api, seller, profile["id"], from_number="+12145551234").data["reasons"] == ["budget"]
    later(api, clock, seller, hours=9)  # 18:00 in Chicago: closed
    answer = eligibility(api, seller, profile["id"])
    assert answer.data == {"eligible": False, "reasons": ["not_matching", "closed", "blocked", "budget"]}


def test_a_seller_that_cannot_pay_or_a_closed_date_is_told(api, clock):
    clock.current = MONDAY_MORNING_IN_CHICAGO
    poor = api.register("seller")  # no funds
    profile = new_profile(api, poor, schedule={**WEEKDAYS, "closed_dates": ["2026-11-02"]})
    assert eligibility(api, poor, profile["id"]).data == {"eligible": False, "reasons": ["closed", "cannot_pay"]}


def test_a_capped_profile_names_its_cap(api, seller, clock):
    clock.current = MONDAY_MORNING_IN_CHICAGO
    buyer = api.register("buyer")
    api.fund(buyer, "10.00")
    profile = new_profile(api, seller, caps={"concurrency": 1, "hourly": 1})
    call = api.post("/calls", {"from_number": CALLER, "to_number": CALLEE}, token=buyer["token"]).data
    assert api.post(f"/calls/{call['id']}/route", token=buyer["token"]).data["profile_id"] == profile["id"]
    answer = eligibility(api, seller, profile["id"])
    assert answer.data == {"eligible": False, "reasons": ["capped:concurrency", "capped:hourly"]}
    usage = api.get(f"/bid-profiles/{profile['id']}", token=seller["token"]).data["usage"]
    assert usage == {"concurrent": 1, "hour": 1, "day": 1, "month": 1}


def test_only_its_seller_may_ask_and_numbers_are_checked(api, seller, clock):
    clock.current = MONDAY_MORNING_IN_CHICAGO
    profile = new_profile(api, seller)
    rival = api.register("seller")
    assert eligibility(api, rival, profile["id"]).status == 404
    assert eligibility(api, api.register("buyer"), profile["id"]).status == 403
    bad = eligibility(api, seller, profile["id"], from_number="4155552671")
    assert bad.status == 400 and bad.error["code"] == "INVALID_PHONE_NUMBER"


def test_a_caller_on_the_platforms_list_is_blocked_for_every_profile(api, seller, clock):
    clock.current = MONDAY_MORNING_IN_CHICAGO
    profile = new_profile(api, seller)
    admin = api.admin()
    assert api.post("/admin/blocked-callers", {"phone_number": "+1415555", "reason": "Known litigator"},
                    token=admin["token"]).status == 201
    assert eligibility(api, seller, profile["id"]).data == {"eligible": False, "reasons": ["blocked"]}
    assert eligibility(api, seller, profile["id"], from_number="+12145551234").data["eligible"] is True

"""Every hold ends: a leg nobody answered gives its hold back at once, a repeated or late callback of an earlier
ring attempt changes nothing, the hold job ends calls past their bound from what Twilio says, and a buyer
cannot freeze sellers' money with calls it never ends. On moto in-process, Twilio's side as the emulator
records it."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.gateways import queues
from chalicelib.persistence.tables import CallModel
from tests.api.test_unit_of_work import drained
from tests.api.test_webhooks import CALLER, Twilio, balance, buyer, dialed, seller, the_call  # noqa: F401 - buyer: a fixture

pytestmark = pytest.mark.usefixtures("afternoon_in_new_york")


@pytest.fixture
def twilio(api):
    return Twilio(api)


def run_hold_job(client) -> dict:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                            resources=[])
    return client.lambda_.invoke("end_overdue_holds", event).payload


def held_and_balance(api, user) -> tuple[str, str]:
    """Read from the account itself: an access token does not outlive the hours these tests move the clock."""
    from chalicelib.domain.money import format_money
    from chalicelib.persistence.tables import AccountModel

    account = AccountModel.get(user["user"]["id"], consistent_read=True)
    return format_money(int(account.held)), format_money(int(account.balance))


def ledger(api) -> dict:
    return api.get("/admin/ledger", token=api.admin()["token"]).data


def twilio_knows(emulator, sid: str, status: str, duration: int | None = None, parent: str | None = None,
                 to: str | None = None) -> None:
    """Twilio's own record of a call (what `calls(sid).fetch()` answers)."""
    emulator._save_call({"sid": sid, "status": status, "duration": None if duration is None else str(duration),
                         "parent_call_sid": parent, "to": to, "from": CALLER, "direction": "outbound-dial"})


def test_the_stranded_hold_of_the_issue_ends_when_the_leg_says_no_answer(api, client, twilio, buyer, clock):
    """Voice request, leg ringing, leg no-answer, no Dial action: the leg's own callback gives the 5.00
    back; three days later the hold job has ended the call (Twilio knows the call no more), and nothing
    is held."""
    rung = seller(api, "5.00", "+13125550002")
    sid = "CA" + "1" * 32
    dialed(twilio.voice(sid))
    twilio.leg(sid, "ringing")
    assert the_call(sid).status == "ringing" and balance(api, rung)["held"] == "5.00"
    twilio.leg(sid, "no-answer")
    assert held_and_balance(api, rung) == ("0.00", "50.00")
    assert the_call(sid).attempts[-1]["outcome"] == "no-answer"
    clock.advance(days=3)
    assert run_hold_job(client)["released"] == 1
    assert the_call(sid).status == "no_answer" and the_call(sid).hold_shard is None
    assert ledger(api)["holds_match"] is True


def test_the_leg_and_the_dial_action_release_once_whichever_comes_first(api, twilio, buyer):
    first = seller(api, "5.00", "+13125550002")
    second = seller(api, "4.00", "+13125550003")
    sid = "CA" + "2" * 32
    dialed(twilio.voice(sid))
    twilio.leg(sid, "no-answer")
    assert balance(api, first)["held"] == "0.00"
    # The Dial's action still moves on to the next seller, and releases nothing more.
    assert dialed(twilio.dial_action(sid, "no-answer"))[0] == "+13125550003"
    assert held_and_balance(api, first) == ("0.00", "50.00")
    assert balance(api, second)["held"] == "4.00"
    assert ledger(api)["holds_match"] is True


def test_a_replayed_dial_action_of_an_earlier_attempt_changes_nothing_and_answers_the_same(api, twilio, buyer):
    """The adversarial run of the issue: replaying the first seller's signed no-answer after the second seller
    had answered dialled a third, and the second seller's 95 s were billed to the third."""
    seller(api, "5.00", "+13125550002")
    second = seller(api, "4.00", "+13125550003")
    third = seller(api, "3.00", "+13125550004")
    sid = "CA" + "3" * 32
    dialed(twilio.voice(sid))
    first_leg = twilio.legs[sid]
    first_answer = twilio.dial_action(sid, "no-answer")
    assert dialed(first_answer)[0] == "+13125550003"
    second_leg = twilio.legs[sid]
    twilio.leg(sid, "in-progress")
    replay = twilio.dial_action(sid, "no-answer", leg_sid=first_leg)
    assert replay.body == first_answer.body  # what it answered the first time
    twilio.legs[sid] = second_leg  # the replay placed no new leg
    twilio.leg(sid, "no-answer", leg_sid=first_leg)  # a late callback of the first leg: nothing either
    assert balance(api, second)["held"] == "4.00" and balance(api, third)["held"] == "0.00"
    assert the_call(sid).seller_id == second["user"]["id"] and len(the_call(sid).attempts) == 2
    twilio.dial_action(sid, "completed", 95)
    call = the_call(sid)
    assert (call.status, call.seller_id, int(call.duration_seconds)) == ("completed", second["user"]["id"], 95)
    assert held_and_balance(api, third) == ("0.00", "50.00")
    assert [a["leg_sid"] for a in call.attempts] == [first_leg, second_leg]


def test_an_overdue_live_call_that_twilio_says_was_answered_is_settled_on_its_talk_time(
        api, client, twilio, twilio_emulator, buyer, clock):
    rung = seller(api, "5.00", "+13125550002")
    sid = "CA" + "4" * 32
    time_limit = int(dialed(twilio.voice(sid))[1]["timeLimit"])
    twilio.leg(sid, "in-progress")  # then every callback is lost
    twilio_knows(twilio_emulator, twilio.legs[sid], "completed", 95, parent=sid, to="+13125550002")
    clock.advance(seconds=time_limit)
    assert run_hold_job(client) == {}  # not overdue yet: ring timeout + timeLimit + 5 minutes
    clock.advance(seconds=20 + 5 * 60)
    assert run_hold_job(client)["settled"] == 1
    call = the_call(sid)
    assert (call.status, int(call.duration_seconds), call.billable) == ("completed", 95, True)
    assert held_and_balance(api, rung) == ("0.00", "45.00")
    assert run_hold_job(client) == {}  # settled once


def test_an_overdue_live_call_twilio_does_not_know_is_released_and_one_under_way_is_looked_at_again(
        api, client, twilio, twilio_emulator, buyer, clock):
    rung = seller(api, "5.00", "+13125550002")
    unknown, under_way = "CA" + "5" * 32, "CA" + "6" * 32
    dialed(twilio.voice(unknown))
    twilio.leg(unknown, "ringing")
    dialed(twilio.voice(under_way, from_number="+14155552672"))
    twilio.leg(under_way, "in-progress")
    twilio_knows(twilio_emulator, twilio.legs[under_way], "in-progress", parent=under_way, to="+13125550002")
    clock.advance(hours=5)
    assert run_hold_job(client) == {"released": 1, "under_way": 1}
    assert the_call(unknown).status == "failed" and the_call(under_way).status == "in_progress"
    assert held_and_balance(api, rung) == ("5.00", "45.00")  # the call under way keeps its hold
    assert the_call(under_way).hold_due_at == clock() + timedelta(minutes=5)
    assert ledger(api)["holds_match"] is True


def reported_call(api, buyer_token: str) -> str:
    created = api.post("/calls", {"from_number": CALLER, "to_number": "+12125552671", "direction": "inbound"},
                       token=buyer_token)
    assert created.status == 201, created.body
    return created.data["id"]


def test_a_reported_call_never_ended_expires_after_the_ttl_and_both_sides_are_told(api, client, buyer, clock,
                                                                                   outbox):
    drained(queues.NOTIFICATIONS)
    rung = seller(api, "5.00", "+13125550002")
    call_id = reported_call(api, buyer["token"])
    assert api.post(f"/calls/{call_id}/route", token=buyer["token"]).status == 200
    clock.advance(hours=4, seconds=-1)
    assert run_hold_job(client) == {}
    clock.advance(seconds=1)
    assert run_hold_job(client) == {"expired": 1}
    call = CallModel.get(call_id)
    assert call.status == "expired" and call.billable is None and call.hold_shard is None
    assert held_and_balance(api, rung) == ("0.00", "50.00")
    # Both sides are told (the job's unit of work owes the notifications; the outbox's stream sends them).
    outbox.publish()
    told = {m["user_id"] for m in drained(queues.NOTIFICATIONS) if m["kind"] == "call_expired"}
    assert told == {buyer["user"]["id"], rung["user"]["id"]}
    assert ledger(api)["holds_match"] is True


def test_a_buyer_cannot_hold_more_than_ten_sellers_prices_with_calls_it_never_ends(api, buyer):
    seller(api, "1.00", "+13125550002", funds="100.00")
    api.fund(buyer, "10.00")
    routed = []
    for _ in range(10):
        call_id = reported_call(api, buyer["token"])
        assert api.post(f"/calls/{call_id}/route", token=buyer["token"]).status == 200
        routed.append(call_id)
    eleventh = reported_call(api, buyer["token"])
    refused = api.post(f"/calls/{eleventh}/route", token=buyer["token"])
    assert refused.status == 429 and refused.error["code"] == "TOO_MANY_OPEN_CALLS"
    assert api.get(f"/calls/{eleventh}", token=buyer["token"]).data["status"] == "pending"
    # Ending one lets the next be routed.
    for status in ("ringing", "in_progress"):
        assert api.call("PATCH", f"/calls/{routed[0]}/status", {"status": status}, token=buyer["token"]).status == 200
    assert api.post(f"/calls/{routed[0]}/complete", {"duration": 45}, token=buyer["token"]).status == 200
    assert api.post(f"/calls/{eleventh}/route", token=buyer["token"]).status == 200


def test_admins_list_open_holds_oldest_first_and_release_a_stuck_call_once(api, buyer, clock):
    rung = seller(api, "5.00", "+13125550002")
    admin = api.admin()
    older = reported_call(api, buyer["token"])
    assert api.post(f"/calls/{older}/route", token=buyer["token"]).status == 200
    clock.advance(minutes=10)
    newer = reported_call(api, buyer["token"])
    assert api.post(f"/calls/{newer}/route", token=buyer["token"]).status == 200
    listed = api.get("/admin/holds", token=admin["token"]).data
    assert [h["call_id"] for h in listed] == [older, newer]
    assert (listed[0]["held"], listed[0]["age_seconds"], listed[0]["seller_id"]) == ("5.00", 600, rung["user"]["id"])
    assert api.get("/admin/holds", token=buyer["token"]).status == 403

    released = api.post(f"/admin/calls/{older}/release", {"reason": "stuck"}, token=admin["token"])
    assert released.status == 200 and released.data["status"] == "expired"
    again = api.post(f"/admin/calls/{older}/release", {"reason": "stuck"}, token=admin["token"])
    assert again.status == 200 and again.data["status"] == "expired"
    assert balance(api, rung)["held"] == "5.00"  # the newer call's only
    stored = CallModel.get(older)
    assert stored.released_by["admin_id"] == admin["user_id"] and stored.released_by["reason"] == "stuck"
    assert [h["call_id"] for h in api.get("/admin/holds", token=admin["token"]).data] == [newer]
    unknown = api.post(f"/admin/calls/{uuid.uuid4()}/release", {"reason": "x"}, token=admin["token"])
    assert unknown.status == 404
    assert ledger(api)["holds_match"] is True


def test_the_hold_metrics_are_emitted_once_per_invocation(api, client, buyer, clock, monkeypatch, capsys):
    """Operators see holds opened, released and their age, and the oldest open hold, in CloudWatch (EMF)."""
    import json

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    seller(api, "5.00", "+13125550002")
    call_id = reported_call(api, buyer["token"])
    capsys.readouterr()
    assert api.post(f"/calls/{call_id}/route", token=buyer["token"]).status == 200
    clock.advance(hours=5)
    run_hold_job(client)
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    emitted = [{k: v for k, v in d.items() if k in ("HoldOpened", "HoldReleased", "HoldAgeAtEndSeconds",
                                                     "OldestOpenHoldSeconds")} for d in documents]
    assert {"HoldOpened": [1.0]} in emitted  # the route's invocation
    job = next(d for d in emitted if "OldestOpenHoldSeconds" in d)
    assert job == {"OldestOpenHoldSeconds": [5 * 3600.0], "HoldReleased": [1.0], "HoldAgeAtEndSeconds": [5 * 3600.0]}
    assert all(d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "CallExchange" for d in documents)


def test_the_open_holds_index_spreads_its_writes_over_its_shards():
    """Partition heat: no partition of OpenHolds is written by every routing. A hold's shard is a hash of its
    call, so 1,600 calls land on every one of the 16 shards, none with more than twice its share."""
    from collections import Counter

    from chalicelib.persistence import holds

    now = datetime(2026, 11, 2, tzinfo=timezone.utc)
    shards = Counter(holds.opened(str(uuid.uuid4()), now, now)["hold_shard"] for _ in range(1_600))
    assert len(shards) == holds.SHARDS and max(shards.values()) < 2 * 1_600 / holds.SHARDS

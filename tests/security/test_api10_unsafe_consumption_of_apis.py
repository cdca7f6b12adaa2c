"""OWASP API10:2023 Unsafe Consumption of APIs: what we take from Twilio is checked before it is believed.
A webhook without a valid X-Twilio-Signature (missing, forged, made with another auth token, over another
URL, or over other parameters) is 403 and changes nothing; a signed webhook with hostile fields (a huge or
garbage CallSid, a From that is not E.164, a negative, malformed or absurd CallDuration/DialCallDuration,
unknown statuses) never answers 5xx and never bills more than the talk time the call's <Dial> allowed; and
errors of Twilio's REST API become our error envelope (502/503/429 with a code), never a traceback or
Twilio's own words unchecked."""
from __future__ import annotations

import json
import os
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from tests.api.test_webhooks import BASE, EXCHANGE_NUMBER, Twilio, buyer, the_call  # noqa: F401 - fixture
from tests.security.helpers import afternoon, market, quick_password_hashing, recording_api  # noqa: F401 - fixtures

SID = "CA" + "5" * 32


@pytest.fixture
def twilio(market):
    return Twilio(market.api)


def seller(market, bid: str, destination: str, funds: str = "50.00") -> dict:
    """A seller whose one profile takes every call at `bid`, ringing `destination`."""
    user = market.user("seller", funds)
    body = {"criteria": {}, "bid_amount": bid, "destination_number": destination}
    assert market.api.post("/bid-profiles", body, token=user["token"]).status == 201
    return user


def answered(twilio, sid: str) -> int:
    """A live call arrives, rings the seller and is answered: the talk time its <Dial> allows."""
    answer = twilio.voice(sid)
    dial = ET.fromstring(answer.body).find("Dial")
    assert dial is not None, answer.body
    assert twilio.leg(sid, "in-progress").status_code == 204
    return int(dial.attrib["timeLimit"])


@pytest.fixture
def live(market, twilio, buyer):
    """A live call (SID) on the buyer's exchange number, ringing a funded seller at 5.00, answered."""
    rung = seller(market, "5.00", "+13125550002")
    return {"buyer": buyer, "seller": rung, "time_limit": answered(twilio, SID)}


def state(market, live) -> tuple:
    """Everything a forged or hostile webhook could move."""
    from chalicelib.persistence.tables import CallModel

    call = the_call(SID)
    return (CallModel.count(), call.status, call.duration_seconds, len(call.attempts),
            call.recording.status if call.recording else None,
            market.balance(live["buyer"]), market.balance(live["seller"]))


def envelope(response, status: int) -> dict:
    assert response.status_code == status, response.body
    body = json.loads(response.body)
    assert body["success"] is False
    return body["error"]


FORGERIES = {
    "missing": lambda url, params: None,
    "empty": lambda url, params: "",
    "garbage": lambda url, params: "bm90IHR3aWxpbw==",
    "another auth token": lambda url, params: RequestValidator("not-our-token").compute_signature(url, params),
    "another url": lambda url, params: RequestValidator(os.environ["TWILIO_AUTH_TOKEN"]).compute_signature(
        url.replace(BASE, "https://attacker.example.com"), params),
    "other parameters": lambda url, params: RequestValidator(os.environ["TWILIO_AUTH_TOKEN"]).compute_signature(
        url, {**params, "CallDuration": "1", "DialCallDuration": "1", "From": "+14155550000"}),
}


FORGED_REQUESTS = [  # each would create, bill or end a call if it were believed
    ("/webhooks/twilio/voice", {"CallSid": "CA" + "6" * 32, "From": "+14155552671", "To": EXCHANGE_NUMBER,
                                "CallStatus": "ringing"}),
    ("/webhooks/twilio/dial", {"CallSid": SID, "DialCallStatus": "completed", "DialCallDuration": "14400"}),
    ("/webhooks/twilio/dial", {"CallSid": SID, "DialCallStatus": "no-answer"}),
    ("/webhooks/twilio/status", {"CallSid": "CA" + "7" * 32, "ParentCallSid": SID, "CallStatus": "completed",
                                 "CallDuration": "14400"}),
    ("/webhooks/twilio/recording", {"CallSid": SID, "RecordingSid": "RE" + "7" * 32, "RecordingStatus": "completed",
                                    "RecordingDuration": "95"}),
]


def test_a_webhook_not_signed_by_twilio_is_403_and_changes_nothing(market, twilio, live):
    before = state(market, live)
    for path, params in FORGED_REQUESTS:
        url = f"{BASE}/api/v1{path}"
        for name, forge in FORGERIES.items():
            signature = forge(url, params)
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            if signature is not None:
                headers["X-Twilio-Signature"] = signature
            response = market.api.client.http.request("POST", f"/api/v1{path}", body=urlencode(params),
                                                      headers=headers)
            assert envelope(response, 403)["code"] == "INVALID_TWILIO_SIGNATURE", (path, name)
    assert state(market, live) == before
    market.books_hold()


HOSTILE_SIDS = ["../../etc/passwd", "<Say>Owned</Say>", "' OR '1'='1", "CA\u202e" + "1" * 30, "CA%00", "{{7*7}}",
                "CA" + "x" * 62, "CA" + "x" * 63, "C", ""]
HOSTILE_FROMS = ["anonymous", "+0", "<script>alert(1)</script>", "+1415555267100000", "266696687", "",
                 "+1 415 555 2671", "'; DROP TABLE calls; --", "+14155552671<Hangup/>", "\u202e+14155552671"]


def test_hostile_call_sids_never_5xx_nor_reach_the_twiml(market, twilio, buyer):
    seller(market, "5.00", "+13125550002")
    for sid in HOSTILE_SIDS:
        response = twilio.voice(sid)
        assert response.status_code in (200, 400), (sid, response.status_code)
        text = response.body.decode()
        if response.status_code == 200:
            root = ET.fromstring(text)  # well-formed TwiML
            assert root.tag == "Response" and sid not in text and "Owned" not in text, sid
        else:
            assert json.loads(text)["success"] is False
            assert len(sid) < 3 or sid not in text, sid
    market.books_hold()


def test_a_caller_that_is_not_e164_hears_goodbye_and_nothing_is_made(market, twilio, buyer):
    from chalicelib.persistence.tables import CallModel

    rung = seller(market, "5.00", "+13125550002")
    for n, caller in enumerate(HOSTILE_FROMS):
        response = twilio.voice(f"CA{n:032d}", from_number=caller)
        assert response.status_code in (200, 400), (caller, response.status_code)
        if response.status_code == 200:
            root = ET.fromstring(response.body)
            assert root.find("Dial") is None and root.find("Hangup") is not None, caller
            assert "script" not in response.body.decode() and "DROP" not in response.body.decode()
    assert CallModel.count() == 0
    assert market.balance(rung)["held"] == "0.00"
    market.books_hold()


def completion(path: str, sid: str = SID, leg_sid: str | None = None) -> dict:
    """A completion of a live call, as the leg's status callback or as the Dial's action (of the leg
    `leg_sid`, or of a leg the call never rang)."""
    leg_sid = leg_sid or "CA" + uuid.uuid4().hex
    if path.endswith("status"):
        return {"CallSid": leg_sid, "ParentCallSid": sid, "CallStatus": "completed"}
    return {"CallSid": sid, "DialCallSid": leg_sid, "DialCallStatus": "completed"}


UNKNOWN_STATUSES = ("hacked", "<completed/>", "COMPLETED", "")


DURATION_FIELDS = [("/webhooks/twilio/status", "CallDuration"), ("/webhooks/twilio/dial", "DialCallDuration")]


def test_malformed_durations_are_refused_and_change_nothing(market, twilio, live):
    before = state(market, live)
    for path, field in DURATION_FIELDS:
        for duration in ("-5", "-86400", "abc", "1e9", "3.5", "0x10", "NaN", "\uff19\uff15", "9" * 5000):
            answer = twilio.post(path, {**completion(path), field: duration})
            assert answer.status_code == 400, (path, duration, answer.status_code)
            assert json.loads(answer.body)["error"]["type"] == "VALIDATION_ERROR"
        status_field = "CallStatus" if path.endswith("status") else "DialCallStatus"
        assert twilio.post(path, {**completion(path), status_field: "x" * 33, field: "95"}).status_code == 400
    assert state(market, live) == before
    market.books_hold()


def test_a_status_callback_with_an_unknown_status_changes_nothing(market, twilio, live):
    before = state(market, live)
    for status in UNKNOWN_STATUSES:
        answer = twilio.post("/webhooks/twilio/status", {**completion("status", SID, twilio.legs[SID]),
                                                         "CallStatus": status, "CallDuration": "95"})
        assert answer.status_code == 204, (status, answer.status_code)
    assert state(market, live) == before


def test_a_dial_action_with_an_unknown_status_changes_nothing(market, twilio, live):
    before = state(market, live)
    for status in UNKNOWN_STATUSES:
        answer = twilio.post("/webhooks/twilio/dial", {"CallSid": SID, "DialCallStatus": status,
                                                       "DialCallDuration": "95"})
        assert answer.status_code < 500, (status, answer.status_code)
        assert state(market, live) == before, status


def test_an_absurd_duration_never_bills_more_than_the_dial_allowed(market, twilio, live):
    cases = [(path, field, duration) for path, field in DURATION_FIELDS for duration in ("86400", "999999999999")]
    for n, (path, field, duration) in enumerate(cases):
        sid = f"CA{n:032d}"
        time_limit = answered(twilio, sid)
        answer = twilio.post(path, {**completion(path, sid, twilio.legs[sid]), field: duration})
        assert answer.status_code < 400, (path, duration, answer.body)
        call = market.api.get(f"/calls/{the_call(sid).call_id}", token=live["buyer"]["token"])
        assert call.data["status"] == "completed" and call.data["billed_seconds"] <= time_limit, (path, duration)
    # The price, once a call: the answered SID call is still under way, its 5.00 held.
    money = market.balance(live["seller"])
    assert (money["balance"], money["held"]) == (f"{50 - 5 * (len(cases) + 1)}.00", "5.00")
    market.books_hold()


@pytest.mark.parametrize("path, field", DURATION_FIELDS)
def test_a_duration_twilio_cannot_have_measured_is_not_stored(market, twilio, live, path, field):
    from chalicelib.config import get_settings

    answer = twilio.post(path, {**completion(path), field: "9" * 60})
    assert answer.status_code < 500
    call = market.api.get(f"/calls/{the_call(SID).call_id}", token=live["buyer"]["token"]).data
    # Twilio ends a call at 4 hours (max_call_seconds): a longer duration is refused (400) or bounded.
    assert call["duration"] is None or call["duration"] <= get_settings().max_call_seconds


# --- Twilio's REST API answering errors ------------------------------------------------------------------

TWILIO_FAULTS = [  # Twilio's status and code, and what we answer
    (503, 20503, 503, "TELEPHONY_PROVIDER_UNAVAILABLE"),
    (500, 20500, 503, "TELEPHONY_PROVIDER_UNAVAILABLE"),
    (502, 20502, 503, "TELEPHONY_PROVIDER_UNAVAILABLE"),
    (429, 20429, 429, "PROVIDER_RATE_LIMITED"),
    (401, 20003, 502, "PROVIDER_PERMISSION_DENIED"),
    (401, 20005, 502, "PROVIDER_ACCOUNT_INACTIVE"),
    (400, 21999, 502, "TWILIO_21999"),
    (404, 20404, 400, "NUMBER_TYPE_NOT_OFFERED"),  # the country's list of that type does not exist
]


def test_twilio_errors_become_our_envelope(market, twilio_emulator):
    buyer = market.user("buyer")
    for n, (status, code, ours, our_code) in enumerate(TWILIO_FAULTS):
        twilio_emulator.inject_faults(status, code, count=10, message="Service failure")
        answer = market.api.get(f"/numbers/search?country_code=US&area_code={415 + n}&limit=1", token=buyer["token"])
        twilio_emulator.clear_faults()
        assert answer.status == ours and answer.error["code"] == our_code, (status, code, answer.body)
        assert answer.headers["content-type"] == "application/json" and answer.error["request_id"]
        text = json.dumps(answer.body)
        for leak in ("Traceback", "twilio.", "TwilioRestException", "Unable to fetch", "HTTP 5",
                     twilio_emulator.account_sid, twilio_emulator.url):
            assert leak not in text, (code, leak)


def test_a_number_change_twilio_refuses_leaves_the_number_as_it_was(market, client, twilio_emulator):
    from tests.api.test_numbers import buy, run_provisioning, search

    api = market.api
    owner = market.user("buyer", "20.00")
    buy(api, owner["token"], search(api, owner["token"], "area_code=415&limit=1")[0]["phone_number"])
    run_provisioning(client)
    number = api.get("/numbers", token=owner["token"]).data[0]
    for status, code, ours in ((503, 20503, 503), (401, 20003, 502)):
        twilio_emulator.inject_faults(status, code, count=10)
        changed = api.put(f"/numbers/{number['id']}", {"friendly_name": "Renamed"}, token=owner["token"])
        released = api.call("DELETE", f"/numbers/{number['id']}", token=owner["token"])
        twilio_emulator.clear_faults()
        for answer in (changed, released):
            assert answer.status == ours and answer.body["success"] is False, answer.body
    assert api.get(f"/numbers/{number['id']}", token=owner["token"]).data == number
    assert [n["friendly_name"] for n in twilio_emulator.owned_numbers()] == [number["friendly_name"]]
    market.books_hold()


def test_twilios_own_words_are_not_echoed_unchecked(market, twilio_emulator):
    """Only a short plain sentence of Twilio's is passed on (the seeds show 'Unable to create record: ...')."""
    buyer = market.user("buyer")
    for message in ("<script>alert(1)</script>", "x" * 5000, "Internal:\n  File twilio.rest line 1"):
        twilio_emulator.inject_faults(400, 21999, count=1, message=message)
        answer = market.api.get("/numbers/search?country_code=US&area_code=415&limit=1", token=buyer["token"])
        assert answer.status == 502 and answer.error["code"] == "TWILIO_21999"
        assert "<" not in answer.error["message"] and len(answer.error["message"]) <= 500
        assert "twilio.rest" not in answer.error["message"]

"""The voice simulator: the emulator's phone network calling the account's numbers, against a fake product.

The fake product is a plain HTTP server on loopback that checks every request's X-Twilio-Signature with
twilio's own RequestValidator and answers TwiML scripted per path. Nothing sleeps: the simulator's time is
injected (a fixed clock, a sleep that only records).
"""
from __future__ import annotations

import io
import json
import re
import threading
import wave
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from chalicelib.gateways.twilio_http import BaseUrlHttpClient
from local import call as call_script
from local.twilio_emulator import TwilioEmulator
from local.twilio_emulator.call_script import SIMULATOR_PATH, CallScript, SimulatorInputError
from local.twilio_emulator.voice_simulator import APPLICATION_ERROR, MAX_TWIML_DOCUMENTS

START = datetime(2026, 3, 2, 15, 0, 0, tzinfo=timezone.utc)
CALLER = "+13125550123"  # a Chicago caller (555-01xx: fictional, valid for phonenumbers)
SELLER_A = "+12125550150"
SELLER_B = "+16175550160"
CALL_SID = re.compile(r"CA[0-9a-f]{32}")
# The parameters of Twilio's incoming-call request, in the order Twilio posts them.
VOICE_PARAMETERS = [
    "AccountSid", "ApiVersion", "CallSid", "CallStatus", "Called", "CalledCity", "CalledCountry", "CalledState",
    "CalledZip", "Caller", "CallerCity", "CallerCountry", "CallerState", "CallerZip", "Direction", "From",
    "FromCity", "FromCountry", "FromState", "FromZip", "To", "ToCity", "ToCountry", "ToState", "ToZip",
]
LEG_PARAMETERS = [
    "AccountSid", "ApiVersion", "CallSid", "CallStatus", "CallbackSource", "Called", "CalledCity",
    "CalledCountry", "CalledState", "CalledZip", "Caller", "CallerCity", "CallerCountry", "CallerState",
    "CallerZip", "Direction", "From", "FromCity", "FromCountry", "FromState", "FromZip", "ParentCallSid",
    "SequenceNumber", "Timestamp", "To", "ToCity", "ToCountry", "ToState", "ToZip",
]
FINAL_LEG_PARAMETERS = sorted(LEG_PARAMETERS + ["CallDuration", "Duration", "SipResponseCode"])
DIAL_ACTION_EXTRA = ["DialBridged", "DialCallDuration", "DialCallSid", "DialCallStatus"]
ALL_EVENTS = "initiated ringing answered completed"


def twiml(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


def dial(number: str, action: str | None = "/action", events: str | None = ALL_EVENTS, **attributes: str) -> str:
    dial_attributes = "".join(f' {name}="{value}"' for name, value in attributes.items())
    if action:
        dial_attributes = f' action="{action}"' + dial_attributes
    number_attributes = f' statusCallback="/status" statusCallbackEvent="{events}"' if events else ""
    return f"<Dial{dial_attributes}><Number{number_attributes}>{number}</Number></Dial>"


class FakeProduct:
    """The product's webhooks, scripted: `answers[path]` is TwiML (or a function of the parameters giving
    TwiML, or (status, body)); a path without an answer gets 200 and an empty body (status callbacks)."""

    def __init__(self, auth_token: str) -> None:
        self.validator = RequestValidator(auth_token)
        self.answers: dict[str, str | tuple[int, str] | Callable[[dict[str, str]], str]] = {}
        self.received: list[dict] = []
        product = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self._serve("POST")

            def do_GET(self) -> None:
                self._serve("GET")

            def _serve(self, method: str) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                url = f"http://{self.headers['Host']}{self.path}"
                pairs = parse_qsl(raw, keep_blank_values=True) if method == "POST" else []
                params = dict(pairs)
                signature = self.headers.get("X-Twilio-Signature", "")
                path = urlsplit(self.path).path
                product.received.append({
                    "method": method, "path": path, "url": url, "pairs": pairs, "params": params,
                    "query": dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)),
                    "headers": dict(self.headers), "signature_valid": product.validator.validate(url, params, signature),
                })
                answer = product.answers.get(path, (200, ""))
                if callable(answer):
                    answer = answer(params or dict(parse_qsl(urlsplit(self.path).query)))
                status, body = answer if isinstance(answer, tuple) else (200, answer)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def on(self, path: str) -> list[dict]:
        return [request for request in self.received if request["path"] == path]


class Sleeps(list):
    """The simulator's waits, recorded instead of slept."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def sleeps():
    return Sleeps()


@pytest.fixture(scope="module")
def emulator(sleeps):
    with TwilioEmulator(auth_token="simulator-test-token", clock=lambda: START, sleep=sleeps) as running:
        yield running


@pytest.fixture(scope="module")
def product(emulator):
    fake = FakeProduct(emulator.auth_token)
    yield fake
    fake.stop()


@pytest.fixture
def twilio(emulator, product, sleeps):
    emulator.reset()
    product.answers.clear()
    product.received.clear()
    sleeps.clear()
    return Client(emulator.account_sid, emulator.auth_token, http_client=BaseUrlHttpClient(emulator.url, timeout=5))


def own(twilio, product, area_code: int = 415, path: str = "/voice", **settings) -> str:
    """Buy a number of the area code whose voice URL is the fake product's `path`; its E.164 number."""
    available = twilio.available_phone_numbers("US").local.list(area_code=area_code, limit=1)[0].phone_number
    settings.setdefault("voice_url", product.url + path)
    twilio.incoming_phone_numbers.create(phone_number=available, **settings)
    return available


def simulate(emulator, **body) -> dict:
    """POST /simulator/calls over HTTP, as `make call` does; the JSON answer."""
    response = requests.post(emulator.url + SIMULATOR_PATH, json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def timestamp(request: dict) -> datetime:
    return parsedate_to_datetime(request["params"]["Timestamp"])


# --- the incoming call request ---------------------------------------------------------------------

def test_the_voice_request_has_twilios_parameters_in_twilios_order_and_a_valid_signature(emulator, twilio, product):
    number = own(twilio, product)
    product.answers["/voice"] = twiml("<Say>Thanks for calling.</Say>", "<Hangup/>")

    result = simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 95})

    [voice] = product.received
    assert voice["method"] == "POST" and voice["signature_valid"]
    assert [name for name, _ in voice["pairs"]] == VOICE_PARAMETERS
    params = voice["params"]
    assert CALL_SID.fullmatch(params["CallSid"]) and params["CallSid"] == result["call_sid"]
    assert params["AccountSid"] == emulator.account_sid and params["ApiVersion"] == "2010-04-01"
    assert params["CallStatus"] == "ringing" and params["Direction"] == "inbound"
    assert params["From"] == params["Caller"] == CALLER and params["To"] == params["Called"] == number
    assert (params["FromCity"], params["FromState"], params["FromCountry"]) == ("CHICAGO", "IL", "US")
    assert (params["ToState"], params["ToCountry"], params["ToZip"]) == ("CA", "US", "")
    assert params["ToCity"] == params["CalledCity"] != ""
    assert voice["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert voice["headers"]["User-Agent"] == "TwilioProxy/1.1"
    assert voice["headers"]["I-Twilio-Idempotency-Token"]


def test_say_then_hangup_ends_the_call_after_one_request(emulator, twilio, product):
    number = own(twilio, product)
    product.answers["/voice"] = twiml("<Say>This number is not taking calls.</Say>", "<Hangup/>",
                                      "<Say>never said</Say>")

    result = simulate(emulator, **{"from": CALLER, "to": number})

    assert result["status"] == "completed"
    assert result["said"] == ["This number is not taking calls."]
    assert result["dialed"] == [] and result["errors"] == []
    [request] = result["requests"]
    assert request["kind"] == "voice" and request["status"] == 200
    assert [verb["verb"] for verb in request["twiml"]] == ["Say", "Hangup", "Say"]
    assert result["duration"] == 3  # 6 words spoken, 0.4 s a word


def test_every_request_is_recorded_with_what_was_sent_and_answered(emulator, twilio, product):
    number = own(twilio, product)
    product.answers["/voice"] = twiml(dial(SELLER_A))
    product.answers["/action"] = twiml("<Hangup/>")

    result = simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 10})

    assert len(result["requests"]) == len(product.received) == 6  # voice, 4 callbacks, action
    for recorded, received in zip(result["requests"], product.received):
        assert recorded["url"] == received["url"] and recorded["method"] == received["method"]
        assert recorded["params"] == received["params"] and list(recorded["params"]) == [n for n, _ in received["pairs"]]
        assert recorded["status"] == 200 and received["signature_valid"]
    assert result["requests"][0]["body"] == product.answers["/voice"]


# --- <Dial> ---------------------------------------------------------------------------------------

def test_an_answered_dial_reports_the_leg_in_order_then_asks_the_action_with_the_talk_time(emulator, twilio, product, sleeps):
    number = own(twilio, product)
    product.answers["/voice"] = twiml(dial(SELLER_A, timeout="20", timeLimit="3600", callerId=number))
    product.answers["/action"] = twiml("<Hangup/>")

    result = simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 95})

    assert all(request["signature_valid"] for request in product.received)
    callbacks = product.on("/status")
    assert [c["params"]["CallStatus"] for c in callbacks] == ["initiated", "ringing", "in-progress", "completed"]
    assert [c["params"]["SequenceNumber"] for c in callbacks] == ["0", "1", "2", "3"]
    [leg] = result["dialed"]
    assert leg == {"number": SELLER_A, "outcome": "answered", "duration": 95, "call_sid": leg["call_sid"],
                   "dial_call_status": "completed"}
    assert CALL_SID.fullmatch(leg["call_sid"]) and leg["call_sid"] != result["call_sid"]
    for callback in callbacks:
        params = callback["params"]
        assert params["CallSid"] == leg["call_sid"] and params["ParentCallSid"] == result["call_sid"]
        assert params["Direction"] == "outbound-dial" and params["CallbackSource"] == "call-progress-events"
        assert params["From"] == params["Caller"] == number  # the callerId
        assert params["To"] == params["Called"] == SELLER_A and params["ToState"] == "NY"
    assert [[n for n, _ in c["pairs"]] for c in callbacks[:3]] == [LEG_PARAMETERS] * 3
    assert [n for n, _ in callbacks[3]["pairs"]] == FINAL_LEG_PARAMETERS
    completed = callbacks[3]["params"]
    assert (completed["CallDuration"], completed["Duration"], completed["SipResponseCode"]) == ("95", "2", "200")
    assert timestamp(callbacks[3]) - timestamp(callbacks[2]) == timedelta(seconds=95)
    assert timestamp(callbacks[0]) == START

    [action] = product.on("/action")
    params = action["params"]
    assert [n for n, _ in action["pairs"]] == sorted(VOICE_PARAMETERS + DIAL_ACTION_EXTRA)
    assert params["CallSid"] == result["call_sid"] and params["CallStatus"] == "in-progress"
    assert (params["DialCallStatus"], params["DialCallDuration"], params["DialCallSid"], params["DialBridged"]) == (
        "completed", "95", leg["call_sid"], "true")
    assert product.received.index(action) == len(product.received) - 1  # after every callback of the leg

    assert result["status"] == "completed" and result["duration"] == 4 + 95  # ringing, then the talk
    assert sum(sleeps) == 99  # the simulated time went through the injected sleep, and nothing else waited


def test_time_limit_cuts_the_talk(emulator, twilio, product):
    number = own(twilio, product)
    product.answers["/voice"] = twiml(dial(SELLER_A, timeLimit="30"))
    product.answers["/action"] = twiml("<Hangup/>")

    result = simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 95})

    assert product.on("/action")[0]["params"]["DialCallDuration"] == "30"
    assert product.on("/status")[-1]["params"]["CallDuration"] == "30"
    assert result["dialed"][0]["duration"] == 30


def test_no_answer_goes_to_the_action_whose_next_dial_is_followed(emulator, twilio, product):
    """A ring tree: the first seller does not answer, the action dials the next one, who answers."""
    number = own(twilio, product)
    product.answers["/voice"] = twiml(dial(SELLER_A, timeout="15"))
    product.answers["/action"] = lambda params: (
        twiml(dial(SELLER_B, action="/action-2")) if params["DialCallStatus"] == "no-answer" else twiml("<Hangup/>"))
    product.answers["/action-2"] = twiml("<Say>Goodbye</Say>", "<Hangup/>")

    result = simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 42,
                                   "dial_outcomes": {SELLER_A: "no-answer"}})

    assert all(request["signature_valid"] for request in product.received)
    first, second = product.on("/action")[0]["params"], product.on("/action-2")[0]["params"]
    assert first["DialCallStatus"] == "no-answer" and "DialCallDuration" not in first
    assert first["DialBridged"] == "false"
    assert (second["DialCallStatus"], second["DialCallDuration"]) == ("completed", "42")
    assert [(d["number"], d["outcome"], d["duration"]) for d in result["dialed"]] == [
        (SELLER_A, "no-answer", 0), (SELLER_B, "answered", 42)]
    statuses = [(c["params"]["To"], c["params"]["CallStatus"]) for c in product.on("/status")]
    assert statuses == [(SELLER_A, "initiated"), (SELLER_A, "ringing"), (SELLER_A, "no-answer"),
                        (SELLER_B, "initiated"), (SELLER_B, "ringing"), (SELLER_B, "in-progress"),
                        (SELLER_B, "completed")]
    no_answer = product.on("/status")[2]
    assert timestamp(no_answer) - START == timedelta(seconds=15)  # rang for the Dial's timeout
    assert no_answer["params"]["SipResponseCode"] == "487" and no_answer["params"]["CallDuration"] == "0"
    assert [r["kind"] for r in result["requests"]].count("dial-action") == 2
    assert result["said"] == ["Goodbye"] and result["status"] == "completed"


@pytest.mark.parametrize("outcome, sip", [("busy", "486"), ("failed", "404")])
def test_a_busy_or_failed_phone_never_rings(emulator, twilio, product, outcome, sip):
    number = own(twilio, product)
    product.answers["/voice"] = twiml(dial(SELLER_A))
    product.answers["/action"] = twiml("<Say>Nobody is available.</Say>")

    result = simulate(emulator, **{"from": CALLER, "to": number, "dial_outcomes": {SELLER_A: outcome}})

    assert [c["params"]["CallStatus"] for c in product.on("/status")] == ["initiated", outcome]
    assert product.on("/status")[-1]["params"]["SipResponseCode"] == sip
    assert product.on("/action")[0]["params"]["DialCallStatus"] == outcome
    assert result["dialed"][0]["outcome"] == outcome and result["status"] == "completed"


def test_only_the_events_asked_for_are_sent_and_completed_is_the_default(emulator, twilio, product):
    number = own(twilio, product)
    product.answers["/voice"] = twiml(dial(SELLER_A, events="answered"), dial(SELLER_B, action=None, events=None)
                                      .replace("<Number>", '<Number statusCallback="/status">'))
    product.answers["/action"] = twiml(dial(SELLER_B, action=None, events=None)
                                       .replace("<Number>", '<Number statusCallback="/status">'))

    simulate(emulator, **{"from": CALLER, "to": number})

    callbacks = [(c["params"]["To"], c["params"]["CallStatus"], c["params"]["SequenceNumber"])
                 for c in product.on("/status")]
    assert callbacks == [(SELLER_A, "in-progress", "0"), (SELLER_B, "completed", "0")]


def test_a_dial_without_action_goes_on_with_the_next_verb(emulator, twilio, product):
    number = own(twilio, product)
    product.answers["/voice"] = twiml(dial(SELLER_A, action=None), "<Say>The other party hung up.</Say>")

    result = simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 5})

    assert result["said"] == ["The other party hung up."] and result["status"] == "completed"
    assert [r["kind"] for r in result["requests"]] == ["voice"] + ["status-callback"] * 4


def test_a_number_written_in_the_dial_text_and_relative_urls(emulator, twilio, product):
    number = own(twilio, product, path="/hooks/voice")
    product.answers["/hooks/voice"] = twiml('<Dial action="next">212-555-0150</Dial>')
    product.answers["/hooks/next"] = twiml("<Hangup/>")

    result = simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 7})

    assert result["dialed"][0]["number"] == SELLER_A
    assert product.on("/hooks/next")[0]["params"]["DialCallDuration"] == "7"


def test_get_methods_put_the_parameters_in_a_signed_query(emulator, twilio, product):
    number = own(twilio, product, path="/voice?tenant=7", voice_method="GET")
    product.answers["/voice"] = twiml(dial(SELLER_A, method="GET").replace(
        "<Number ", '<Number statusCallbackMethod="GET" '))
    product.answers["/action"] = twiml("<Hangup/>")

    simulate(emulator, **{"from": CALLER, "to": number})

    assert {request["method"] for request in product.received} == {"GET"}
    assert all(request["signature_valid"] for request in product.received)
    voice = product.received[0]
    assert voice["query"]["tenant"] == "7" and voice["query"]["CallStatus"] == "ringing"
    assert product.on("/action")[0]["query"]["DialCallStatus"] == "completed"


def test_the_ring_tree_is_bounded(emulator, twilio, product):
    number = own(twilio, product)
    product.answers["/voice"] = twiml(dial(SELLER_A, events=None))
    product.answers["/action"] = twiml(dial(SELLER_A, events=None))  # dials again, forever

    result = simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 1})

    assert len(product.received) == MAX_TWIML_DOCUMENTS
    assert len(result["dialed"]) == MAX_TWIML_DOCUMENTS
    assert "more than 10 TwiML documents" in result["errors"][-1]["message"]
    assert result["said"] == [APPLICATION_ERROR] and result["status"] == "completed"


# --- failures, rejection, the number's own callbacks ------------------------------------------------

def test_a_failing_voice_url_ends_the_call_with_twilios_application_error(emulator, twilio, product):
    number = own(twilio, product)
    product.answers["/voice"] = (403, "forbidden")

    result = simulate(emulator, **{"from": CALLER, "to": number})

    assert result["status"] == "completed" and result["said"] == [APPLICATION_ERROR]
    assert [(e["code"], e["level"]) for e in result["errors"]] == [(11200, "error")]
    assert result["requests"][0]["status"] == 403 and result["requests"][0]["body"] == "forbidden"


def test_the_fallback_url_gets_the_error_and_answers_instead(emulator, twilio, product):
    number = own(twilio, product, voice_fallback_url=product.url + "/fallback")
    product.answers["/voice"] = "this is not XML"
    product.answers["/fallback"] = twiml("<Say>Sorry, try later.</Say>")

    result = simulate(emulator, **{"from": CALLER, "to": number})

    fallback = product.on("/fallback")[0]["params"]
    assert fallback["ErrorCode"] == "12100" and fallback["ErrorUrl"] == product.url + "/voice"
    assert result["said"] == ["Sorry, try later."] and result["errors"][0]["code"] == 12100


def test_an_unreachable_product_is_a_connection_failure(emulator, twilio, product):
    number = own(twilio, product, voice_url="http://127.0.0.1:9/voice")  # discard port: nobody listens

    result = simulate(emulator, **{"from": CALLER, "to": number})

    assert result["errors"][0]["code"] == 11205 and result["requests"][0]["status"] is None
    assert "error" in result["requests"][0]


@pytest.mark.parametrize("reason, status", [("busy", "busy"), (None, "no-answer")])
def test_reject_leaves_the_call_unanswered(emulator, twilio, product, reason, status):
    number = own(twilio, product)
    product.answers["/voice"] = twiml(f'<Reject reason="{reason}"/>' if reason else "<Reject/>")

    result = simulate(emulator, **{"from": CALLER, "to": number})

    assert result["status"] == status and result["duration"] == 0


def test_the_numbers_status_callback_hears_the_end_of_the_call(emulator, twilio, product):
    number = own(twilio, product, status_callback=product.url + "/call-status")
    product.answers["/voice"] = twiml(dial(SELLER_A, events=None))
    product.answers["/action"] = twiml("<Hangup/>")

    result = simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 30})

    [status] = product.on("/call-status")
    assert status["signature_valid"] and status["params"]["CallSid"] == result["call_sid"]
    assert (status["params"]["CallStatus"], status["params"]["CallDuration"]) == ("completed", "34")
    assert product.received[-1] is status


def test_the_call_and_its_leg_are_call_resources_of_the_account(emulator, twilio, product):
    number = own(twilio, product)
    product.answers["/voice"] = twiml(dial(SELLER_A, events=None))
    product.answers["/action"] = twiml("<Hangup/>")

    result = simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 95})

    parent = twilio.calls(result["call_sid"]).fetch()
    leg = twilio.calls(result["dialed"][0]["call_sid"]).fetch()
    assert (parent.status, parent.direction, parent.duration, parent._from, parent.to) == (
        "completed", "inbound", "99", CALLER, number)
    assert (leg.status, leg.direction, leg.duration, leg.parent_call_sid) == (
        "completed", "outbound-dial", "95", result["call_sid"])


# --- <Dial record> -----------------------------------------------------------------------------

RECORDED = {"record": "record-from-answer-dual", "recordingStatusCallback": "/recording",
            "recordingStatusCallbackMethod": "POST"}
RECORDING_SID = re.compile(r"RE[0-9a-f]{32}")


def media(emulator, sid: str, auth: tuple[str, str] | None = None, extension: str = ".wav") -> requests.Response:
    path = f"/2010-04-01/Accounts/{emulator.account_sid}/Recordings/{sid}{extension}"
    return requests.get(emulator.url + path, auth=auth, timeout=5)


def test_a_recorded_dial_posts_its_recording_once_the_call_has_ended_and_serves_a_playable_wav(emulator, twilio, product):
    number = own(twilio, product)
    product.answers["/voice"] = twiml(dial(SELLER_A, recordingStatusCallbackEvent="in-progress completed absent",
                                           **RECORDED))
    product.answers["/action"] = twiml("<Hangup/>")

    result = simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 95})

    started, completed = product.on("/recording")
    assert started["signature_valid"] and completed["signature_valid"]
    assert product.received.index(completed) == len(product.received) - 1  # once the call has ended
    assert product.received.index(started) == product.received.index(product.on("/status")[2]) + 1  # answered
    params = completed["params"]
    sid = params["RecordingSid"]
    assert RECORDING_SID.fullmatch(sid) and started["params"]["RecordingSid"] == sid
    assert [name for name, _ in completed["pairs"]] == sorted(params)  # in Twilio's order
    assert params["CallSid"] == result["call_sid"]  # the parent call, not the dialed leg
    assert (params["RecordingStatus"], params["RecordingDuration"], params["RecordingChannels"],
            params["RecordingSource"]) == ("completed", "95", "2", "DialVerb")
    assert params["AccountSid"] == emulator.account_sid
    assert params["RecordingUrl"] == f"https://api.twilio.com/2010-04-01/Accounts/{emulator.account_sid}/Recordings/{sid}"
    assert parsedate_to_datetime(params["RecordingStartTime"]) == START + timedelta(seconds=4)  # the answer
    assert started["params"]["RecordingStatus"] == "in-progress" and "RecordingDuration" not in started["params"]
    assert [r["kind"] for r in result["requests"]].count("recording-callback") == 2

    audio = media(emulator, sid, auth=(emulator.account_sid, emulator.auth_token))
    assert audio.status_code == 200 and audio.headers["Content-Type"] == "audio/x-wav"
    with wave.open(io.BytesIO(audio.content)) as played:
        assert (played.getnchannels(), played.getsampwidth(), played.getframerate()) == (2, 2, 8000)
        assert played.getnframes() == 3 * 8000  # 95 s of talk, its audio cut to 3 s
        assert any(played.readframes(100))  # a tone, not silence
    assert media(emulator, sid, auth=(emulator.account_sid, emulator.auth_token), extension="").content == audio.content
    assert media(emulator, sid).status_code == 401
    assert media(emulator, sid, auth=(emulator.account_sid, "wrong")).status_code == 401
    fetched = twilio.recordings(sid).fetch()
    assert (fetched.call_sid, fetched.status, fetched.duration, fetched.channels, fetched.source) == (
        result["call_sid"], "completed", "95", 2, "DialVerb")
    assert [r.sid for r in twilio.recordings.list(call_sid=result["call_sid"])] == [sid]


def test_only_completed_is_posted_by_default_and_a_dial_without_record_records_nothing(emulator, twilio, product):
    number = own(twilio, product)
    product.answers["/voice"] = twiml(dial(SELLER_A, **RECORDED))
    product.answers["/action"] = twiml(dial(SELLER_B, action="/after"))
    product.answers["/after"] = twiml("<Hangup/>")

    result = simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 20,
                                   "dial_outcomes": {SELLER_A: "no-answer"}})

    assert product.on("/recording") == [] and twilio.recordings.list() == []  # nobody answered the recorded Dial
    number = own(twilio, product, area_code=628)
    product.answers["/voice"] = twiml(dial(SELLER_A, **RECORDED))
    product.answers["/action"] = twiml("<Hangup/>")
    result = simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 20})
    [completed] = product.on("/recording")
    assert completed["params"]["RecordingStatus"] == "completed" and completed["params"]["RecordingDuration"] == "20"
    with wave.open(io.BytesIO(media(emulator, completed["params"]["RecordingSid"],
                                    auth=(emulator.account_sid, emulator.auth_token)).content)) as played:
        assert played.getnframes() == 3 * 8000
    assert completed["params"]["CallSid"] == result["call_sid"]


def test_a_recording_with_no_talk_is_absent_and_has_no_audio(emulator, twilio, product):
    number = own(twilio, product)
    product.answers["/voice"] = twiml(dial(SELLER_A, recordingStatusCallbackEvent="completed absent", **RECORDED))
    product.answers["/action"] = twiml("<Hangup/>")

    simulate(emulator, **{"from": CALLER, "to": number, "talk_seconds": 0})

    [absent] = product.on("/recording")
    params = absent["params"]
    assert (params["RecordingStatus"], params["RecordingDuration"], params["ErrorCode"]) == ("absent", "0", "16101")
    assert media(emulator, params["RecordingSid"], auth=(emulator.account_sid, emulator.auth_token)).status_code == 404


def test_a_number_the_account_does_not_own_fails_without_any_request(emulator, twilio, product):
    own(twilio, product)

    result = simulate(emulator, **{"from": CALLER, "to": SELLER_B})

    assert result["status"] == "failed" and result["call_sid"] is None
    assert result["requests"] == [] and product.received == []
    assert "not a number of this Twilio account" in result["errors"][0]["message"]


def test_a_number_without_voice_url_fails(emulator, twilio, product):
    number = own(twilio, product, voice_url="")

    result = simulate(emulator, **{"from": CALLER, "to": number})

    assert result["status"] == "failed" and CALL_SID.fullmatch(result["call_sid"]) and result["requests"] == []


# --- input -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    ({"to": "+14155550100"}, "from"),
    ({"from": "+14155550100"}, "to"),
    ({"from": "4155550100", "to": "+14155550100"}, "from"),
    ({"from": "+14155550100", "to": 14155550100}, "to"),
    ({"from": "+14155550100", "to": "+14155550101", "talk_seconds": -1}, "talk_seconds"),
    ({"from": "+14155550100", "to": "+14155550101", "talk_seconds": "95"}, "talk_seconds"),
    ({"from": "+14155550100", "to": "+14155550101", "talk_seconds": 9.5}, "talk_seconds"),
    ({"from": "+14155550100", "to": "+14155550101", "talk_seconds": True}, "talk_seconds"),
    ({"from": "+14155550100", "to": "+14155550101", "talk_seconds": 14401}, "talk_seconds"),
    ({"from": "+14155550100", "to": "+14155550101", "dial_outcomes": ["busy"]}, "dial_outcomes"),
    ({"from": "+14155550100", "to": "+14155550101", "dial_outcomes": {"+12125550150": "declined"}}, "dial_outcomes"),
    ({"from": "+14155550100", "to": "+14155550101", "dial_outcomes": {"2125550150": "busy"}}, "dial_outcomes"),
    ({"from": "+14155550100", "to": "+14155550101", "talk": 95}, "talk"),
    ([], None),
])
def test_bad_input_is_400_with_the_field(emulator, body, field):
    response = requests.post(emulator.url + SIMULATOR_PATH, json=body, timeout=5)

    assert response.status_code == 400
    assert response.json()["error"] == "BAD_REQUEST" and response.json()["field"] == field
    assert response.json()["message"]


def test_a_body_that_is_not_json_is_400_and_get_is_405(emulator):
    not_json = requests.post(emulator.url + SIMULATOR_PATH, data="from=+1", timeout=5)
    get = requests.get(emulator.url + SIMULATOR_PATH, timeout=5)

    assert not_json.status_code == 400 and not_json.json()["error"] == "BAD_REQUEST"
    assert get.status_code == 405


def test_the_simulator_needs_no_twilio_auth_and_is_not_counted(emulator, twilio, product):
    emulator.reset_counts()
    simulate(emulator, **{"from": CALLER, "to": SELLER_B})

    assert emulator.request_count == 0


def test_call_script_defaults():
    script = CallScript.from_json({"from": CALLER, "to": SELLER_A, "dial_outcomes": None})

    assert (script.talk_seconds, script.dial_outcomes) == (60, {})
    with pytest.raises(SimulatorInputError):
        CallScript.from_json("call")


# --- the auth token from the environment --------------------------------------------------------------

def test_the_auth_token_comes_from_the_environment_unless_given(monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token-from-the-environment")
    assert TwilioEmulator().auth_token == "token-from-the-environment"
    assert TwilioEmulator(auth_token="given").auth_token == "given"
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    assert TwilioEmulator().auth_token == "twilio-emulator-auth-token"


# --- `make call` ----------------------------------------------------------------------------------

def test_the_call_script_prints_the_call_step_by_step(emulator, twilio, product):
    number = own(twilio, product)
    product.answers["/voice"] = twiml("<Say>Connecting you.</Say>", dial(SELLER_A, timeout="20"))
    product.answers["/action"] = lambda params: (
        twiml(dial(SELLER_B, action="/action-2")) if params["DialCallStatus"] != "completed" else twiml("<Hangup/>"))
    product.answers["/action-2"] = twiml("<Hangup/>")
    out = io.StringIO()

    code = call_script.main(["--from", CALLER, "--to", number, "--talk", "95", "--outcome", f"{SELLER_A}=busy",
                             "--emulator", emulator.url], out=out)

    text = out.getvalue()
    assert code == 0
    assert f"POST {product.url}/voice" in text and "CallStatus=ringing" in text
    assert '<Say> "Connecting you."' in text and f"<Dial {SELLER_A}" in text
    assert "DialCallStatus=busy" in text and "DialCallStatus=completed DialCallDuration=95" in text
    assert f"{SELLER_A}  busy" in text and f"{SELLER_B}  answered  95 s" in text
    assert re.search(r"Call CA[0-9a-f]{32}: completed", text)


def test_the_call_script_finds_the_emulator_from_the_environment(monkeypatch, emulator, twilio, product):
    monkeypatch.delenv("TWILIO_EMULATOR_URL", raising=False)
    monkeypatch.setenv("TWILIO_EMULATOR_PORT", str(urlsplit(emulator.url).port))
    assert call_script.emulator_url(None) == emulator.url
    monkeypatch.setenv("TWILIO_EMULATOR_URL", "http://127.0.0.1:1234/")
    assert call_script.emulator_url(None) == "http://127.0.0.1:1234"
    assert call_script.emulator_url("http://elsewhere:1") == "http://elsewhere:1"


def test_the_call_script_json_output_and_errors(emulator, twilio, product, capsys):
    out = io.StringIO()
    # A number Twilio does not know: the call fails, said in full, and the exit status says so (make call: 1).
    assert call_script.main(["--from", CALLER, "--to", SELLER_B, "--emulator", emulator.url, "--json"], out=out) == 1
    assert json.loads(out.getvalue())["status"] == "failed"

    out = io.StringIO()
    assert call_script.main(["--from", "nope", "--to", SELLER_B, "--emulator", emulator.url], out=out) == 1
    assert "from must be an E.164 number" in out.getvalue()

    out = io.StringIO()
    assert call_script.main(["--from", CALLER, "--to", SELLER_B, "--emulator", "http://127.0.0.1:9"], out=out) == 1
    assert "cannot reach the Twilio emulator" in out.getvalue()

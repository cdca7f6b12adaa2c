"""The phone network around the emulator: places a call to a number of the account and plays Twilio's part
in it against the product's webhooks, as Twilio would (the whole story is VoiceSimulator's docstring).
Talk and ringing are simulated time: nothing waits unless a `sleep` is injected."""
from __future__ import annotations

import functools
import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlencode, urljoin, urlsplit
from xml.etree import ElementTree

import phonenumbers
from phonenumbers import PhoneNumberFormat

from local.twilio_emulator.account import API_VERSION, OwnedNumber, new_sid, rfc2822
from local.twilio_emulator.call_script import E164, MAX_CALL_SECONDS, CallScript
from local.twilio_emulator import recordings
from local.twilio_emulator.stock import place

if TYPE_CHECKING:
    from local.twilio_emulator.server import TwilioEmulator

DIAL_TIMEOUT_SECONDS = 30  # <Dial timeout> when not given
MAX_DIAL_TIMEOUT_SECONDS = 600
MAX_TWIML_DOCUMENTS = 10  # per call: a loop of dial actions or redirects ends there
WEBHOOK_TIMEOUT_SECONDS = 15.0  # how long Twilio waits for a webhook's answer
RING_AFTER_SECONDS = 1  # a dialed phone rings this long after it is dialed,
ANSWER_AFTER_SECONDS = 4  # picks up this long after it is dialed (when it answers),
REFUSED_AFTER_SECONDS = 1  # and a busy or failed one says so this long after it is dialed
SAY_SECONDS_PER_WORD = 0.4  # how long <Say> speaks
PLAY_SECONDS = 5  # how long <Play> plays (the audio is not fetched)
MAX_RECORDED_BODY = 20_000  # characters of each answer kept in the call's record
SIP_RESPONSE_CODES = {"completed": 200, "busy": 486, "no-answer": 487, "failed": 404}
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
# Twilio's error codes for what goes wrong with webhooks and TwiML (twilio.com/docs/api/errors).
HTTP_RETRIEVAL_FAILURE = 11200  # the answer was not 2xx
HTTP_CONNECTION_FAILURE = 11205  # no answer at all: refused, timed out
DOCUMENT_PARSE_FAILURE = 12100  # the answer is not TwiML
INVALID_DIAL_NUMBER = 13223  # <Dial>: invalid phone number format
# What Twilio's webhook requests carry besides X-Twilio-Signature and I-Twilio-Idempotency-Token.
WEBHOOK_HEADERS = {"User-Agent": "TwilioProxy/1.1", "Cache-Control": "max-age=259200", "Accept": "*/*"}
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"


@functools.lru_cache(maxsize=1024)
def _whereabouts(phone_number: str) -> tuple[str, str, str, str]:
    """(city, state, zip, country) of a number as Twilio's voice parameters give them: the city in
    capitals, state and country as codes, and the zip, which the numbering plan does not tell, empty."""
    try:
        number = phonenumbers.parse(phone_number)
        locality, region = place(number)
    except Exception:  # noqa: BLE001 - an odd number has no whereabouts, as at Twilio
        return "", "", "", ""
    return (locality or "").upper(), region or "", "", phonenumbers.region_code_for_number(number) or ""


def _party(role: str, phone_number: str) -> dict[str, str]:
    """Twilio's parameters for one end of a call: `From`, `FromCity`, `FromCountry`, `FromState`, `FromZip`."""
    city, state, zip_code, country = _whereabouts(phone_number)
    return {role: phone_number, f"{role}City": city, f"{role}Country": country, f"{role}State": state,
            f"{role}Zip": zip_code}


def _twilio_order(params: dict[str, str]) -> dict[str, str]:
    """Twilio posts its parameters sorted by name (AccountSid, ApiVersion, CallSid, CallStatus, Called, ...)."""
    return dict(sorted(params.items()))


def _minutes(seconds: int) -> int:
    return math.ceil(seconds / 60)


def _int_attribute(element: ElementTree.Element, name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(element.get(name, default))
    except ValueError:
        return default
    return min(max(value, low), high)


def _dialable(text: str) -> str | None:
    """The E.164 number <Dial> calls: E.164 as given, or a US number written nationally ("415-555-0100")."""
    if E164.fullmatch(text):
        return text
    try:
        number = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) if phonenumbers.is_valid_number(number) else None


def _describe(verb: ElementTree.Element) -> dict[str, Any]:
    """A TwiML verb as the simulator reports it: name, attributes, text, nouns."""
    def text_of(element: ElementTree.Element) -> str | None:
        return (element.text or "").strip() or None
    return {"verb": verb.tag, "attributes": dict(verb.attrib), "text": text_of(verb),
            "nouns": [{"noun": noun.tag, "attributes": dict(noun.attrib), "text": text_of(noun)} for noun in verb]}


class VoiceSimulator:
    """The phone network of `make run`: places calls to the emulator account's numbers and plays Twilio's
    part in them against the product's webhooks, as Twilio would.

    One call (`place`), synchronously, answered once it has ended:

    - The called number must be the account's. Otherwise the network says the number is not in service:
      status "failed", no CallSid, no request made (Twilio never hears of the call). A number of the
      account with no VoiceUrl fails the same way, with its CallSid.
    - A CallSid; the number's VoiceUrl requested with its VoiceMethod (GET puts the parameters in the
      query), signed as Twilio signs (X-Twilio-Signature: HMAC-SHA1 of the full URL and, for POST, the
      sorted parameters, with the account's auth token), with the parameters of an incoming call in
      Twilio's order (sorted by name): AccountSid, ApiVersion, CallSid, CallStatus "ringing", Called,
      CalledCity, CalledCountry, CalledState, CalledZip, Caller..., Direction "inbound", From..., To....
      If that fails (not 2xx, no answer within 15 s, not TwiML), the VoiceFallbackUrl with ErrorCode and
      ErrorUrl, if the number has one; failing that, the caller hears the application-error message and
      the call ends (completed, as at Twilio), the failure in `errors` with Twilio's code (11200, 11205,
      12100).
    - The TwiML, verb by verb: <Say> (its text in `said`), <Play>, <Pause length>, <Hangup>, <Reject
      reason> (as first verb the call is never answered: busy, or no-answer), <Redirect method> and <Dial>
      (action, method, timeout, timeLimit, callerId) of one <Number> (statusCallback, statusCallbackEvent,
      statusCallbackMethod) or of a number as its text. Other verbs and nouns are skipped, with a warning in
      `errors`. Relative URLs are resolved against the URL of their document.
    - A <Dial>: the dialed leg has its own CallSid, and its phone does what `dial_outcomes` says for its
      number (answered, when not listed). Events: initiated; ringing (answered, no-answer); in-progress
      (answered); then completed, or no-answer once `timeout` has passed, or busy, or failed. Each event
      the <Number> asks for (statusCallbackEvent, space-separated; "completed" when only statusCallback is
      given; "answered" is sent as CallStatus in-progress) is sent to its statusCallback with the leg's
      parameters: CallSid, ParentCallSid, Direction "outbound-dial", From and Caller the callerId (else the
      caller), To and Called the number, CallbackSource "call-progress-events", Timestamp (RFC 2822),
      SequenceNumber (0, 1, ... per leg), and on the last one CallDuration, Duration (minutes) and
      SipResponseCode. An answered leg talks min(talk_seconds, timeLimit) seconds. Then the action URL
      gets the call's own parameters (CallStatus in-progress) and DialCallSid, DialCallStatus (completed,
      busy, no-answer, failed), DialBridged, and DialCallDuration when answered; its TwiML goes on (and
      may <Dial> again: a ring tree). Without action, the next verb goes on; with none left the call ends.
    - At most MAX_TWIML_DOCUMENTS (10) TwiML documents per call (voice URL, fallback, redirects, actions):
      the call ends there.
    - A <Dial record="record-from-answer-dual"> (or "record-from-answer", "true") records the answered leg's
      talk: a Recording (RE...) of the account, in progress from the answer; its recordingStatusCallback
      (recordingStatusCallbackMethod) gets each event recordingStatusCallbackEvent names ("completed" when
      not given): in-progress at the answer, and once the call has ended completed (RecordingDuration: the
      talk time) or, with no talk, absent (ErrorCode 16101). Its parameters: AccountSid, CallSid (the parent
      call), RecordingSid, RecordingUrl, RecordingStatus, RecordingDuration, RecordingChannels (2 when dual),
      RecordingSource "DialVerb", RecordingStartTime, RecordingTrack, signed as every request is.
    - The number's StatusCallback, if it has one, gets the call's own final event (with CallDuration).
    The call and its dialed legs are then `Calls/{Sid}.json` resources of the account, and its recordings
    `Recordings/{Sid}.json`, their audio at `Recordings/{Sid}.wav` (recordings.py).

    Time: `clock()` tells when a call starts (default chalicelib.clock.now, the product's clock: a clock
    moved under `make run` moves the calls too). Every second of ringing, speech and talk after that is
    simulated: timestamps and durations are those of a real call, and the time is handed to `sleep`,
    which by default does not wait. Tests inject both; a `sleep=time.sleep` would play calls in real time.
    """

    def __init__(self, emulator: "TwilioEmulator", clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], None] | None = None,
                 webhook_timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> None:
        self._emulator = emulator
        self._clock = clock
        self.sleep: Callable[[float], None] = sleep if sleep is not None else (lambda seconds: None)
        self.webhook_timeout = webhook_timeout

    def now(self) -> datetime:
        if self._clock is not None:
            moment = self._clock()
        else:
            from chalicelib import clock  # noqa: PLC0415 - the product's clock, movable under `make run`

            moment = clock.now()
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)

    def place(self, script: CallScript) -> dict[str, Any]:
        """Place the call and play it to its end; what happened, every request made included."""
        number = self._emulator._number_called(script.called)
        if number is None:
            message = (f"{script.called} is not a number of this Twilio account: the network answers that it is "
                       "not in service, and Twilio never hears of the call")
            return {"call_sid": None, "from": script.caller, "to": script.called, "status": "failed",
                    "duration": 0, "dialed": [], "said": [], "requests": [],
                    "errors": [{"code": None, "level": "error", "message": message, "url": None}]}
        return _SimulatedCall(self, self._emulator, script, number).run()


@dataclass
class _Leg:
    """A dialed leg of the call: its own CallSid, and who hears of its progress."""
    sid: str
    number: str
    caller_id: str
    callback: str | None
    callback_method: str
    events: frozenset[str]
    sequence: int = 0


@dataclass
class _Recording:
    """A recording of the call: its resource, who hears of its progress, and the talk time it holds."""
    resource: dict[str, Any]
    callback: str | None
    callback_method: str
    events: frozenset[str]
    talk: int = 0


class _SimulatedCall:
    """One inbound call, played once from ringing to its end (see VoiceSimulator)."""

    def __init__(self, simulator: VoiceSimulator, emulator: "TwilioEmulator", script: CallScript,
                 number: OwnedNumber) -> None:
        import requests  # noqa: PLC0415 - only the simulator speaks HTTP to webhooks
        from twilio.request_validator import RequestValidator  # noqa: PLC0415

        self._simulator, self._emulator, self._script = simulator, emulator, script
        self._number, self._settings = number, number.settings
        self._session = requests.Session()
        self._unanswered = requests.RequestException  # refused, timed out, ...
        self._session.trust_env = False  # Twilio does not go through this machine's proxy settings
        self._validator = RequestValidator(emulator.auth_token)
        self.sid = new_sid("CA")
        self._started = simulator.now().replace(microsecond=0)
        self._elapsed = 0  # simulated seconds since the call reached Twilio
        self._answered_at: int | None = None
        self._status = "ringing"
        self._ended = False
        self._documents = 0
        self._requests: list[dict[str, Any]] = []
        self._dialed: list[dict[str, Any]] = []
        self._recordings: list[_Recording] = []
        self._said: list[str] = []
        self._errors: list[dict[str, Any]] = []
        self._resource = self._call_resource(self.sid, "inbound", script.caller, script.called, "ringing")
        self._resource["phone_number_sid"] = number.sid

    # the call, start to end

    def run(self) -> dict[str, Any]:
        try:
            self._emulator._save_call(self._resource)
            voice_url = self._settings.get("voice_url") or ""
            if voice_url:
                self._answer_the_call(voice_url)
            else:
                self._error(None, "the number has no VoiceUrl: Twilio has nothing to ask what to do with the call")
                self._end("failed")
            self._finish_recordings()
        finally:
            self._session.close()
        return {"call_sid": self.sid, "from": self._script.caller, "to": self._script.called,
                "status": self._status, "duration": self._duration(), "dialed": self._dialed,
                "said": self._said, "requests": self._requests, "errors": self._errors}

    def _answer_the_call(self, voice_url: str) -> None:
        method = self._settings.get("voice_method") or "POST"
        url, verbs = voice_url, self._twiml("voice", voice_url, method, self._params("ringing"))
        fallback = self._settings.get("voice_fallback_url")
        if verbs is None and fallback and self._documents < MAX_TWIML_DOCUMENTS:
            failure = self._errors[-1]
            params = self._params("ringing", ErrorCode=str(failure["code"]), ErrorUrl=voice_url)
            fallback_method = self._settings.get("voice_fallback_method") or "POST"
            url, verbs = fallback, self._twiml("voice-fallback", fallback, fallback_method, params)
        if verbs is None:
            self._application_error()
        else:
            self._execute(verbs, url)

    def _execute(self, verbs: list[ElementTree.Element], url: str) -> None:
        """Verb by verb, each new document (action, redirect) replacing the rest of the current one."""
        pending = list(verbs)
        while pending and not self._ended:
            verb = pending.pop(0)
            if verb.tag == "Reject" and self._answered_at is None:
                self._end("busy" if verb.get("reason") == "busy" else "no-answer")
                return
            self._pick_up()  # any verb but a first <Reject> answers the call
            if verb.tag == "Say":
                self._say((verb.text or "").strip(), _int_attribute(verb, "loop", 1, 1, 10))
            elif verb.tag == "Play":
                self._advance(PLAY_SECONDS * _int_attribute(verb, "loop", 1, 1, 10))
            elif verb.tag == "Pause":
                self._advance(_int_attribute(verb, "length", 1, 1, MAX_CALL_SECONDS))
            elif verb.tag in ("Hangup", "Reject"):
                break
            elif verb.tag in ("Redirect", "Dial"):
                following = self._redirect(verb, url) if verb.tag == "Redirect" else self._dial(verb, url)
                if following is None:
                    continue  # a <Dial> without action: the next verb
                next_url, next_verbs = following
                if next_verbs is None:
                    self._application_error()
                    return
                pending, url = list(next_verbs), next_url
            else:
                self._error(None, f"<{verb.tag}> is not simulated: skipped", url, level="warning")
        self._end("completed")

    def _redirect(self, verb: ElementTree.Element, url: str) -> tuple[str, list | None]:
        target = urljoin(url, (verb.text or "").strip())
        return target, self._twiml("redirect", target, verb.get("method") or "POST", self._params("in-progress"))

    def _dial(self, verb: ElementTree.Element, url: str) -> tuple[str, list | None] | None:
        """Dial, play the dialed leg to its end, then (with an action) ask what next: (URL, its verbs)."""
        result = self._dial_leg(verb, url)
        action = verb.get("action")
        if not action:
            return None
        target = urljoin(url, action)
        params = self._params("in-progress", **result)
        return target, self._twiml("dial-action", target, verb.get("method") or "POST", params)

    def _dial_leg(self, verb: ElementTree.Element, url: str) -> dict[str, str]:
        """The dialed leg from initiated to its end; the Dial* parameters of the action request."""
        timeout = _int_attribute(verb, "timeout", DIAL_TIMEOUT_SECONDS, 1, MAX_DIAL_TIMEOUT_SECONDS)
        time_limit = _int_attribute(verb, "timeLimit", MAX_CALL_SECONDS, 1, MAX_CALL_SECONDS)
        nouns = list(verb)
        numbers = [noun for noun in nouns if noun.tag == "Number"]
        for noun in nouns:
            if noun.tag != "Number":
                self._error(None, f"<Dial><{noun.tag}> is not simulated: skipped", url, level="warning")
        if len(numbers) > 1:
            self._error(None, "only the first <Number> of a <Dial> is dialed (simultaneous dialing is not "
                              "simulated)", url, level="warning")
        noun = numbers[0] if numbers else None
        written = ((noun.text if noun is not None else verb.text if not nouns else "") or "").strip()
        number = _dialable(written)
        if number is None:
            self._error(INVALID_DIAL_NUMBER, f"<Dial>: {written!r} is not a phone number", url)
            self._dialed.append({"number": written, "outcome": "failed", "duration": 0, "call_sid": None,
                                 "dial_call_status": "failed"})
            return {"DialBridged": "false", "DialCallStatus": "failed"}
        callback = noun.get("statusCallback") if noun is not None else None
        events = (noun.get("statusCallbackEvent") or "completed") if noun is not None else ""
        leg = _Leg(new_sid("CA"), number, verb.get("callerId") or self._script.caller,
                   urljoin(url, callback) if callback else None,
                   (noun.get("statusCallbackMethod") if noun is not None else None) or "POST",
                   frozenset(re.split(r"[\s,]+", events.strip())) if callback else frozenset())
        resource = self._call_resource(leg.sid, "outbound-dial", leg.caller_id, number, "queued")
        resource["parent_call_sid"] = self.sid
        self._emulator._save_call(resource)

        outcome = self._script.dial_outcomes.get(number, "answered")
        if outcome == "answered" and ANSWER_AFTER_SECONDS > timeout:
            outcome = "no-answer"  # the Dial gave up ringing before the phone would have been picked up
        dialed_at = self._elapsed
        self._leg_event(leg, "initiated", "initiated")
        talk = 0
        if outcome in ("answered", "no-answer"):
            self._advance(RING_AFTER_SECONDS)
            self._leg_event(leg, "ringing", "ringing")
        if outcome == "answered":
            self._advance(ANSWER_AFTER_SECONDS - RING_AFTER_SECONDS)
            resource.update(status="in-progress", start_time=rfc2822(self._moment()))
            self._emulator._save_call(resource)
            self._leg_event(leg, "answered", "in-progress")
            recording = self._start_recording(verb, url)
            talk = min(self._script.talk_seconds, time_limit)
            self._advance(talk)
            if recording is not None:
                recording.talk = talk
            status = "completed"
        elif outcome == "no-answer":
            self._advance(max(timeout - (self._elapsed - dialed_at), 0))
            status = "no-answer"
        else:
            self._advance(REFUSED_AFTER_SECONDS)
            status = outcome
        resource.update(status=status, end_time=rfc2822(self._moment()), duration=str(talk),
                        date_updated=rfc2822(self._moment()))
        self._emulator._save_call(resource)
        self._leg_event(leg, "completed", status, CallDuration=str(talk), Duration=str(_minutes(talk)),
                        SipResponseCode=str(SIP_RESPONSE_CODES[status]))
        self._dialed.append({"number": number, "outcome": outcome, "duration": talk, "call_sid": leg.sid,
                             "dial_call_status": status})
        result = {"DialBridged": "true" if status == "completed" else "false", "DialCallSid": leg.sid,
                  "DialCallStatus": status}
        if status == "completed":
            result["DialCallDuration"] = str(talk)
        return result

    # recordings

    def _start_recording(self, verb: ElementTree.Element, url: str) -> _Recording | None:
        """A <Dial record> that records: from the moment the dialed phone answers (recording from ringing is
        recorded from answer here), in progress until the call ends."""
        mode = (verb.get("record") or "do-not-record").lower()
        if mode not in recordings.RECORD_MODES:
            if mode != "do-not-record":
                self._error(None, f"<Dial record={mode!r}> is not a recording mode: not recorded", url, level="warning")
            return None
        callback = verb.get("recordingStatusCallback")
        events = re.split(r"[\s,]+", (verb.get("recordingStatusCallbackEvent") or "completed").strip())
        recording = _Recording(
            recordings.resource(self._emulator.account_sid, new_sid("RE"), self.sid,
                                recordings.RECORD_MODES[mode], self._moment()),
            urljoin(url, callback) if callback else None,
            verb.get("recordingStatusCallbackMethod") or "POST", frozenset(events))
        self._recordings.append(recording)
        self._emulator._save_recording(recording.resource)
        self._recording_event(recording)
        return recording

    def _finish_recordings(self) -> None:
        """Once the call has ended, each of its recordings is ready (or, with nothing said, absent)."""
        for recording in self._recordings:
            recording.resource = recordings.ended(recording.resource, recording.talk, self._moment())
            self._emulator._save_recording(recording.resource)
            self._recording_event(recording)

    def _recording_event(self, recording: _Recording) -> None:
        status = recording.resource["status"]
        if recording.callback is not None and status in recording.events:
            params = recordings.callback_params(recording.resource)
            self._callback(recording.callback, recording.callback_method, params, kind="recording-callback")

    def _leg_event(self, leg: _Leg, event: str, status: str, **extra: str) -> None:
        if leg.callback is None or event not in leg.events:
            return
        params = {
            "AccountSid": self._emulator.account_sid, "ApiVersion": self._api_version(), "CallSid": leg.sid,
            "CallStatus": status, "CallbackSource": "call-progress-events", "Direction": "outbound-dial",
            "ParentCallSid": self.sid, "SequenceNumber": str(leg.sequence), "Timestamp": rfc2822(self._moment()),
            **_party("Called", leg.number), **_party("Caller", leg.caller_id), **_party("From", leg.caller_id),
            **_party("To", leg.number), **extra,
        }
        leg.sequence += 1
        self._callback(leg.callback, leg.callback_method, _twilio_order(params))

    # the call's own state

    def _pick_up(self) -> None:
        if self._answered_at is None:
            self._answered_at = self._elapsed
            self._status = "in-progress"
            self._resource.update(status="in-progress", start_time=rfc2822(self._moment()),
                                  date_updated=rfc2822(self._moment()))
            self._emulator._save_call(self._resource)

    def _say(self, text: str, loop: int = 1) -> None:
        self._said.append(text)
        self._advance(max(1, math.ceil(len(text.split()) * SAY_SECONDS_PER_WORD)) * loop)

    def _application_error(self) -> None:
        """What Twilio does when it cannot get TwiML: says so, and hangs up."""
        self._pick_up()
        self._say(APPLICATION_ERROR)
        self._end("completed")

    def _end(self, status: str) -> None:
        if self._ended:
            return
        self._ended, self._status = True, status
        duration, moment = self._duration(), rfc2822(self._moment())
        self._resource.update(status=status, end_time=moment, date_updated=moment,
                              duration=str(duration) if self._answered_at is not None else None)
        self._emulator._save_call(self._resource)
        callback = self._settings.get("status_callback")
        if callback:
            params = self._params(status, CallDuration=str(duration), Duration=str(_minutes(duration)),
                                  CallbackSource="call-progress-events", SequenceNumber="0", Timestamp=moment)
            self._callback(callback, self._settings.get("status_callback_method") or "POST", params)

    def _duration(self) -> int:
        return 0 if self._answered_at is None else self._elapsed - self._answered_at

    def _advance(self, seconds: int) -> None:
        if seconds > 0:
            self._elapsed += seconds
            self._simulator.sleep(seconds)

    def _moment(self) -> datetime:
        return self._started + timedelta(seconds=self._elapsed)

    def _api_version(self) -> str:
        return self._settings.get("api_version") or API_VERSION

    def _params(self, status: str, **extra: str) -> dict[str, str]:
        """The parameters of every request about the call itself, in Twilio's order."""
        caller, called = self._script.caller, self._script.called
        return _twilio_order({
            "AccountSid": self._emulator.account_sid, "ApiVersion": self._api_version(), "CallSid": self.sid,
            "CallStatus": status, "Direction": "inbound", **_party("Called", called), **_party("Caller", caller),
            **_party("From", caller), **_party("To", called), **extra,
        })

    def _call_resource(self, sid: str, direction: str, from_: str, to: str, status: str) -> dict[str, Any]:
        moment = rfc2822(self._moment())
        account = self._emulator.account_sid
        return {
            "sid": sid, "account_sid": account, "to": to, "from": from_, "phone_number_sid": None,
            "status": status, "direction": direction, "api_version": self._api_version(),
            "date_created": moment, "date_updated": moment, "start_time": None, "end_time": None,
            "duration": None, "price": None, "price_unit": "USD", "answered_by": None, "parent_call_sid": None,
            "caller_name": None, "uri": f"/{API_VERSION}/Accounts/{account}/Calls/{sid}.json",
        }

    # requests to the product

    def _twiml(self, kind: str, url: str, method: str, params: dict[str, str]) -> list[ElementTree.Element] | None:
        """Request a TwiML document: its verbs, or None (the failure recorded in `errors`)."""
        if self._documents >= MAX_TWIML_DOCUMENTS:
            self._error(None, f"more than {MAX_TWIML_DOCUMENTS} TwiML documents in one call: {url} was not "
                              "requested and the call ends", url)
            return None
        self._documents += 1
        record, content = self._send(kind, url, method, params)
        if record["status"] is None:
            self._error(HTTP_CONNECTION_FAILURE, f"HTTP connection failure: {record['error']}", url)
            return None
        if not 200 <= record["status"] < 300:
            self._error(HTTP_RETRIEVAL_FAILURE, f"HTTP retrieval failure: the answer was {record['status']}", url)
            return None
        try:
            root = ElementTree.fromstring(content)
        except ElementTree.ParseError as error:
            self._error(DOCUMENT_PARSE_FAILURE, f"Document parse failure: not XML ({error})", url)
            return None
        if root.tag != "Response":
            self._error(DOCUMENT_PARSE_FAILURE, f"Document parse failure: <{root.tag}> is not <Response>", url)
            return None
        verbs = list(root)
        record["twiml"] = [_describe(verb) for verb in verbs]
        return verbs

    def _callback(self, url: str, method: str, params: dict[str, str], kind: str = "status-callback") -> None:
        """A status callback: its answer is not read, but a failure is logged, as Twilio's debugger does."""
        record, _ = self._send(kind, url, method, params)
        if record["status"] is None:
            self._error(HTTP_CONNECTION_FAILURE, f"HTTP connection failure: {record['error']}", url, level="warning")
        elif not 200 <= record["status"] < 300:
            self._error(HTTP_RETRIEVAL_FAILURE, f"HTTP retrieval failure: the answer was {record['status']}", url,
                        level="warning")

    def _send(self, kind: str, url: str, method: str, params: dict[str, str]) -> tuple[dict[str, Any], bytes]:
        """One signed request, as Twilio makes it, recorded: (the record, the answer's bytes)."""
        method = method.upper() if method.upper() in ("GET", "POST") else "POST"
        headers = {**WEBHOOK_HEADERS, "I-Twilio-Idempotency-Token": str(uuid.uuid4())}
        if method == "GET":  # the parameters go in the query, and the signature covers the whole URL
            target, data = url + ("&" if urlsplit(url).query else "?") + urlencode(params), None
            headers["X-Twilio-Signature"] = self._validator.compute_signature(target, {})
        else:
            target, data = url, urlencode(params)
            headers["X-Twilio-Signature"] = self._validator.compute_signature(url, params)
            headers["Content-Type"] = FORM_CONTENT_TYPE
        record: dict[str, Any] = {"kind": kind, "method": method, "url": target, "params": dict(params),
                                  "at": self._elapsed, "status": None, "body": None}
        self._requests.append(record)
        try:
            response = self._session.request(method, target, data=data, headers=headers,
                                             timeout=self._simulator.webhook_timeout, allow_redirects=False)
        except self._unanswered as error:
            record["error"] = f"{type(error).__name__}: {error}"
            return record, b""
        record["status"] = response.status_code
        record["body"] = response.content.decode("utf-8", "replace")[:MAX_RECORDED_BODY]
        return record, response.content

    def _error(self, code: int | None, message: str, url: str | None = None, level: str = "error") -> None:
        self._errors.append({"code": code, "level": level, "message": message, "url": url})

"""The emulator as one loopback HTTP server: Twilio's REST API over one account (resources.py), the phone
network (`POST /simulator/calls`, voice_simulator.py) and, for tests driving the emulator of another process,
the control API (`/_emulator/...`). `with TwilioEmulator() as twilio: ...`, or alone:
`python -m local.twilio_emulator --port 8020`."""
from __future__ import annotations

import argparse
import json
import logging
import os
import threading
from collections import Counter
from dataclasses import asdict
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from local.loopback import EmulatorHandler, LoopbackServer, serve_until_interrupted
from local.twilio_emulator.account import (
    DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, EmulatorState, Fault, Media, OwnedNumber, new_sid,
)
from local.twilio_emulator import recordings
from local.twilio_emulator.call_script import SIMULATOR_PATH, CallScript, SimulatorInputError
from local.twilio_emulator.resources import Request, answer
from local.twilio_emulator.voice_simulator import VoiceSimulator

logger = logging.getLogger(__name__)


# Statuses of a call not ended yet, and the directions of the calls the phone network plays (an inbound call and
# the legs its <Dial>s place; a call created through the REST API, "outbound-api", is never played: it stays queued).
UNDER_WAY = frozenset({"queued", "initiated", "ringing", "in-progress"})
PLAYED = frozenset({"inbound", "outbound-dial"})


def ended_as_dropped(call: dict[str, Any]) -> dict[str, Any]:
    """A played call under way, ended at the last moment it recorded: completed with the talk time up to then
    if it was answered, canceled (the caller gone) if it was still ringing. Any other call as it is."""
    if call.get("status") not in UNDER_WAY or call.get("direction") not in PLAYED:
        return call
    moments = [parsedate_to_datetime(call[name]) for name in ("date_updated", "start_time") if call.get(name)]
    last = max(moments) if moments else None
    answered = call["status"] == "in-progress" and call.get("start_time")
    talk = int((last - parsedate_to_datetime(call["start_time"])).total_seconds()) if answered and last else 0
    ended = call.get("date_updated") if last is None else format_datetime(last)
    return {**call, "status": "completed" if answered else "canceled", "end_time": ended, "date_updated": ended,
            "duration": str(max(0, talk))}


def absent_if_dropped(recording: dict[str, Any]) -> dict[str, Any]:
    """A recording still in progress when the account was saved: its call was dropped (`ended_as_dropped`) and
    nothing of it was kept, as Twilio says of a recording it has no audio of."""
    if recording.get("status") != "in-progress":
        return recording
    return {**recording, "status": "absent", "duration": "0"}


class TwilioEmulator(LoopbackServer):
    """Twilio's REST API for numbers, on loopback. `with TwilioEmulator() as twilio: ...`"""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, account_sid: str = DEFAULT_ACCOUNT_SID,
                 auth_token: str | None = None, *, clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        """`auth_token` None: TWILIO_AUTH_TOKEN from the environment, else DEFAULT_AUTH_TOKEN, so `make run`
        with TWILIO_AUTH_TOKEN set (and no TWILIO_ACCOUNT_SID) authenticates and signs with that token.
        `clock` and `sleep` time the voice simulator (see VoiceSimulator): by default the product's clock
        (chalicelib.clock), and simulated time passes without waiting."""
        if auth_token is None:
            auth_token = os.environ.get("TWILIO_AUTH_TOKEN") or DEFAULT_AUTH_TOKEN
        super().__init__(host, port)
        self._account_sid, self._auth_token = account_sid, auth_token
        self.simulator = VoiceSimulator(self, clock=clock, sleep=sleep)
        self._lock = threading.Lock()  # the server answers on many threads; state changes one at a time
        self._state = EmulatorState(self._account_sid)
        self._version = 0  # moves with every request that may change the account (see `version`)

    # lifecycle: LoopbackServer

    thread_name = "twilio-emulator"

    @property
    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    @property
    def account_sid(self) -> str:
        return self._account_sid

    @property
    def auth_token(self) -> str:
        return self._auth_token

    # for tests

    @property
    def request_count(self) -> int:
        """REST requests served (every answer counts, errors and injected faults included)."""
        with self._lock:
            return sum(self._state.counts.values())

    @property
    def request_counts(self) -> Counter:
        """REST requests served per (method, kind), e.g. `[("POST", "incoming_phone_numbers")]`."""
        with self._lock:
            return Counter(self._state.counts)

    def reset_counts(self) -> None:
        with self._lock:
            self._state.counts.clear()

    def reset(self) -> None:
        """Forget every bought number, call, recording, fault and count: a fresh account."""
        with self._lock:
            self._state = EmulatorState(self._account_sid)
            self._version += 1

    # what `make run` keeps across a restart (local/snapshot.py): the account's numbers, calls and recordings

    @property
    def version(self) -> int:
        """Moves whenever the account's numbers, calls or recordings may have changed."""
        return self._version

    @property
    def lock(self) -> threading.Lock:
        """Held, the account changes no more (a snapshot holds it with moto's locks)."""
        return self._lock

    def export_account(self) -> dict[str, Any]:
        """The bought numbers, the calls and their recordings, as plain data; call with `lock` held."""
        return {"owned": [asdict(number) for number in self._state.owned.values()],
                "calls": [dict(call) for call in self._state.calls.values()],
                "recordings": [dict(recording) for recording in self._state.recordings.values()]}

    def restore_account(self, account: dict[str, Any]) -> None:
        """The numbers, calls and recordings `export_account` gave (faults and counts start empty). A call the
        phone network was playing when they were saved (a kill, or Ctrl-C, mid-call) cannot go on: the
        simulator playing it stopped with its process. It has ended as a dropped call ends (`ended_as_dropped`),
        so Twilio's REST API says how, as it would of a call that ended while nobody listened; kept
        "in-progress", the product's hold job would be told it is under way, and hold its seller's price, for
        ever. A recording of such a call kept nothing (`absent`)."""
        with self._lock:
            self._state = EmulatorState(self._account_sid)
            for number in account.get("owned", []):
                self._state.owned[number["sid"]] = OwnedNumber(**number)
            for call in account.get("calls", []):
                self._state.calls[call["sid"]] = ended_as_dropped(dict(call))
            for recording in account.get("recordings", []):
                self._state.recordings[recording["sid"]] = absent_if_dropped(dict(recording))
            self._version += 1

    def add_recording(self, call_sid: str, talk_seconds: int, channels: int = 2) -> dict[str, Any]:
        """A recording of the call, as a recorded <Dial> leaves it once the call has ended (completed, or absent
        with no talk): for tests that play Twilio's part themselves. Its resource."""
        moment = self.simulator.now()
        recording = recordings.ended(recordings.resource(self._account_sid, new_sid("RE"), call_sid, channels, moment),
                                     talk_seconds, moment)
        self._save_recording(recording)
        return recording

    def inject_faults(self, status: int, code: int, count: int = 1, method: str | None = None,
                      kind: str | None = None, message: str | None = None) -> None:
        """The next `count` requests (of this method and kind, if given) fail with status and code."""
        with self._lock:
            self._state.faults.append(Fault(int(status), int(code), int(count),
                                            method.upper() if method else None, kind, message))

    def clear_faults(self) -> None:
        with self._lock:
            self._state.faults.clear()

    def owned_numbers(self) -> list[dict[str, Any]]:
        with self._lock:
            return [number.to_json(self._account_sid) for number in self._state.owned.values()]

    def snapshot(self) -> dict[str, Any]:
        """What `GET /_emulator/state` answers."""
        with self._lock:
            counts = {f"{method} {kind}": n for (method, kind), n in sorted(self._state.counts.items())}
            return {
                "url": self.url, "account_sid": self._account_sid,
                "request_count": sum(self._state.counts.values()), "request_counts": counts,
                "owned_numbers": [{"sid": n.sid, "phone_number": n.phone_number,
                                   "friendly_name": n.settings["friendly_name"],
                                   "voice_url": n.settings["voice_url"]} for n in self._state.owned.values()],
                "faults": [asdict(fault) for fault in self._state.faults],
            }

    # the voice simulator (the phone network)

    def simulate_call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Place one call from the phone network, as `POST /simulator/calls` does with this JSON body, and
        answer what happened once it has ended. SimulatorInputError for a request that makes no sense."""
        return self.simulator.place(CallScript.from_json(request))

    def simulator_request(self, method: str, raw: bytes) -> tuple[int, dict[str, Any]]:
        """`POST /simulator/calls` over HTTP: (status, JSON body)."""
        if method != "POST":
            return 405, {"error": "METHOD_NOT_ALLOWED", "message": f"{SIMULATOR_PATH} takes POST"}
        try:
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            return 400, SimulatorInputError(None, "the body must be a JSON object").body()
        try:
            return 200, self.simulate_call(body)
        except SimulatorInputError as error:
            return 400, error.body()
        except Exception as error:  # a bug here must reach the caller, not hang it
            logger.exception("the voice simulator failed")
            return 500, {"error": "SIMULATOR_FAILED", "message": repr(error)}

    def _number_called(self, phone_number: str) -> OwnedNumber | None:
        """A copy of the account's number (the last bought, for the magic number bought again and again)."""
        with self._lock:
            for number in reversed(list(self._state.owned.values())):
                if number.phone_number == phone_number:
                    return OwnedNumber(number.sid, number.phone_number, number.kind, number.date_created,
                                       number.date_updated, dict(number.settings))
            return None

    def _save_call(self, call: dict[str, Any]) -> None:
        """A call the simulator placed, as `Calls/{Sid}.json` answers it."""
        with self._lock:
            self._state.calls[call["sid"]] = dict(call)
            self._version += 1

    def _save_recording(self, recording: dict[str, Any]) -> None:
        """A recording the simulator made, as `Recordings/{Sid}.json` answers it."""
        with self._lock:
            self._state.recordings[recording["sid"]] = dict(recording)
            self._version += 1

    # one REST request

    def handle(self, request: Request) -> tuple[int, dict[str, Any] | Media | None]:
        """Answer one REST request: (HTTP status, JSON body, Media or None)."""
        with self._lock:
            if request.method != "GET":
                self._version += 1
            return answer(self._state, self._auth_token, request)

    # the control API (/_emulator/...), for a test driving the emulator of another process

    def control(self, method: str, path: str, values: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        try:
            return self._control(method, path, values)
        except (KeyError, TypeError, ValueError) as error:
            return 400, {"message": f"bad control request: {error!r}"}

    def _control(self, method: str, path: str, values: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        if (method, path) == ("GET", "/_emulator/state"):
            return 200, self.snapshot()
        if (method, path) == ("POST", "/_emulator/faults"):
            self.inject_faults(values["status"], values["code"], values.get("count", 1),
                               values.get("method"), values.get("kind"), values.get("message"))
            return 201, self.snapshot()
        if (method, path) == ("DELETE", "/_emulator/faults"):
            self.clear_faults()
            return 204, None
        if (method, path) == ("POST", "/_emulator/reset"):
            if values.get("scope") == "counts":
                self.reset_counts()
            else:
                self.reset()
            return 204, None
        return 404, {"message": f"no control endpoint {method} {path}"}


# --- HTTP -------------------------------------------------------------------------------------

class _Handler(EmulatorHandler):
    def answer(self, method: str) -> None:
        emulator: TwilioEmulator = self.server.emulator  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        raw = self.body()
        if url.path == SIMULATOR_PATH:  # the phone network: no auth, not counted
            status, payload = emulator.simulator_request(method, raw)
            self._send(status, payload)
            return
        body = self._form_or_json(raw)
        if url.path.startswith("/_emulator/"):  # the control API: no auth, not counted
            status, payload = emulator.control(method, url.path, {**_first_values(url.query), **body})
        else:
            query, authorization = _first_values(url.query), self.headers.get("Authorization")
            request = Request(method, url.path, query, body, authorization)
            status, payload = emulator.handle(request)
        self._send(status, payload)

    def _form_or_json(self, data: bytes) -> dict[str, Any]:
        raw = data.decode("utf-8", "replace")
        if not raw:
            return {}
        if self.headers.get("Content-Type", "").startswith("application/json"):
            try:
                return dict(json.loads(raw))
            except ValueError:
                return {}
        return _first_values(raw)

    def _send(self, status: int, payload: dict[str, Any] | Media | None) -> None:
        if isinstance(payload, Media):
            data, content_type = payload.data, payload.content_type
        else:
            data = b"" if payload is None else json.dumps(payload).encode()
            content_type = None if payload is None else "application/json; charset=utf-8"
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else {}
        self.reply(status, data, content_type, {**headers, "Twilio-Request-Id": new_sid("RQ")})


def _first_values(encoded: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(encoded, keep_blank_values=True).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local emulator of Twilio's REST API for phone numbers.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("TWILIO_EMULATOR_PORT") or 0),
                        help="default TWILIO_EMULATOR_PORT, else 0: a free port")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN") or DEFAULT_AUTH_TOKEN,
                        help="default TWILIO_AUTH_TOKEN, else the emulator's fixed token")
    args = parser.parse_args(argv)
    emulator = TwilioEmulator(args.host, args.port, args.account_sid, args.auth_token).start()
    print(emulator.url, flush=True)
    return serve_until_interrupted(emulator)

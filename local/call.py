"""`make call FROM=+1... TO=+1...`: a phone call to a number of the running product, told step by step.

    python -m local.call --from +13125550123 --to +14155550100 [--talk 95]
        [--outcome +12125550150=no-answer ...] [--emulator URL] [--json]

Asks the phone network of the Twilio emulator (`POST {emulator}/simulator/calls`, see
local.twilio_emulator.voice_simulator.VoiceSimulator) to place the call: the emulator requests the number's
voice URL as Twilio would, follows the TwiML, sends the dialed legs' status callbacks and the <Dial>
actions, and answers once the call has ended. This prints each request (URL, key parameters, status, the
TwiML verbs answered), the numbers dialed and what they did, and the call's final status. Talk and ringing
are simulated: the call takes as long as the product takes to answer, not `--talk` seconds.

The emulator: --emulator, else TWILIO_EMULATOR_URL, else http://127.0.0.1:$TWILIO_EMULATOR_PORT (`make run`
prints the emulator's URL; TWILIO_EMULATOR_PORT fixes its port).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any, TextIO

from local.twilio_emulator.call_script import DEFAULT_TALK_SECONDS, DIAL_OUTCOMES, SIMULATOR_PATH

# The parameters worth a look in each kind of request (all of them are in --json).
KEY_PARAMETERS = {
    "voice": ("CallSid", "CallStatus", "From", "To"),
    "voice-fallback": ("CallSid", "CallStatus", "ErrorCode", "ErrorUrl"),
    "redirect": ("CallSid", "CallStatus"),
    "dial-action": ("CallSid", "CallStatus", "DialCallStatus", "DialCallDuration", "DialCallSid"),
    "status-callback": ("CallSid", "ParentCallSid", "CallStatus", "SequenceNumber", "CallDuration"),
    "recording-callback": ("CallSid", "RecordingSid", "RecordingStatus", "RecordingDuration"),
}
SHOWN_DIAL_ATTRIBUTES = ("action", "method", "timeout", "timeLimit", "callerId", "record")
SHOWN_BODY = 300  # characters of an answer that is not TwiML


def emulator_url(given: str | None) -> str | None:
    """--emulator, else TWILIO_EMULATOR_URL, else the emulator on TWILIO_EMULATOR_PORT of loopback."""
    url = given or os.environ.get("TWILIO_EMULATOR_URL")
    if url:
        return url.rstrip("/")
    port = os.environ.get("TWILIO_EMULATOR_PORT")
    return f"http://127.0.0.1:{port}" if port and port != "0" else None


def _outcome(text: str) -> tuple[str, str]:
    number, _, outcome = text.partition("=")
    if not number or outcome not in DIAL_OUTCOMES:
        raise argparse.ArgumentTypeError(f"expected NUMBER=OUTCOME, OUTCOME one of {', '.join(DIAL_OUTCOMES)}")
    return number, outcome


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.call",
                                     description="Call a number of the running product through the Twilio "
                                                 "emulator's phone network, and tell what happened.")
    parser.add_argument("--from", dest="caller", required=True, help="the caller, E.164 (+13125550123)")
    parser.add_argument("--to", dest="called", required=True, help="the number called (one the product bought)")
    parser.add_argument("--talk", type=int, default=DEFAULT_TALK_SECONDS,
                        help=f"seconds of talk when a dialed number answers (default {DEFAULT_TALK_SECONDS})")
    parser.add_argument("--outcome", type=_outcome, action="append", default=[], metavar="NUMBER=OUTCOME",
                        help="what a dialed number does: " + ", ".join(DIAL_OUTCOMES)
                             + " (default answered); repeatable")
    parser.add_argument("--emulator", help="the emulator's URL (default TWILIO_EMULATOR_URL, else "
                                           "http://127.0.0.1:$TWILIO_EMULATOR_PORT)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the call to end")
    parser.add_argument("--json", action="store_true", help="print the simulator's answer as it is")
    return parser.parse_args(argv)


def place(url: str, body: dict[str, Any], timeout: float) -> tuple[int, dict[str, Any]]:
    """POST the call to the phone network: (HTTP status, JSON answer). Loopback: no proxy."""
    request = urllib.request.Request(url + SIMULATOR_PATH, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            try:
                return error.code, json.load(error)
            except ValueError:
                return error.code, {"message": f"HTTP {error.code}"}


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = parse_args(argv)
    url = emulator_url(args.emulator)
    if url is None:
        print("Where is the Twilio emulator? Pass --emulator URL, or set TWILIO_EMULATOR_URL, or "
              "TWILIO_EMULATOR_PORT (`make run` prints \"Twilio emulator: <URL>\").", file=out)
        return 1
    body = {"from": args.caller, "to": args.called, "talk_seconds": args.talk, "dial_outcomes": dict(args.outcome)}
    try:
        status, answer = place(url, body, args.timeout)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        print(f"cannot reach the Twilio emulator at {url}: {reason}. Is `make run` running (without "
              "TWILIO_ACCOUNT_SID, which talks to real Twilio instead)?", file=out)
        return 1
    if status != 200:
        print(f"The phone network refused the call ({status}): {answer.get('message', answer)}", file=out)
        return 1
    if args.json:
        print(json.dumps(answer, indent=2), file=out)
    else:
        print(render(answer, body, url), file=out)
    return 0 if succeeded(answer) else 1


def succeeded(answer: dict[str, Any]) -> bool:
    """The call took place and nothing went wrong on the way (`make call` exits 1 otherwise, so a script
    sees it): Twilio placed it, it completed, and no webhook or TwiML failed (a warning is no failure)."""
    return (answer.get("call_sid") is not None and answer.get("status") == "completed"
            and not any(error.get("level") == "error" for error in answer.get("errors") or ()))


# --- telling what happened ----------------------------------------------------------------------------

def render(answer: dict[str, Any], body: dict[str, Any], url: str) -> str:
    outcomes = "".join(f", {number} {outcome}" for number, outcome in body.get("dial_outcomes", {}).items())
    lines = [f"Calling {answer['to']} from {answer['from']} (talk {body['talk_seconds']} s{outcomes}) "
             f"through {url}{SIMULATOR_PATH}", ""]
    for index, request in enumerate(answer["requests"], 1):
        lines.extend(_request_lines(index, request))
    if answer["dialed"]:
        lines += ["", "Dialed:"]
        for leg in answer["dialed"]:
            lines.append(f"  {leg['number']}  {leg['outcome']}  {leg['duration']} s  "
                         f"(DialCallStatus {leg['dial_call_status']}, {leg['call_sid'] or 'no call'})")
    if answer["said"]:
        lines += ["", "Said to the caller:"] + [f'  "{text}"' for text in answer["said"]]
    if answer["errors"]:
        lines += ["", "Errors:"]
        for error in answer["errors"]:
            code = f" {error['code']}" if error["code"] else ""
            where = f"  ({error['url']})" if error.get("url") else ""
            lines.append(f"  [{error['level']}{code}] {error['message']}{where}")
    sid = answer["call_sid"] or "(no call: Twilio never heard of it)"
    lines += ["", f"Call {sid}: {answer['status']}, {answer['duration']} s"]
    return "\n".join(lines)


def _request_lines(index: int, request: dict[str, Any]) -> list[str]:
    params = request["params"]
    shown = " ".join(f"{name}={params[name]}" for name in KEY_PARAMETERS.get(request["kind"], ()) if name in params)
    lines = [f"{index:3}. [t+{request['at']}s] {request['method']} {request['url'].split('?')[0]}  ({request['kind']})",
             f"       {shown}"]
    if request["status"] is None:
        lines.append(f"       -> no answer: {request.get('error')}")
    elif "twiml" in request:
        verbs = "  ".join(_verb(verb) for verb in request["twiml"]) or "(an empty <Response>)"
        lines.append(f"       -> {request['status']}  {verbs}")
    elif request["kind"] == "status-callback" or not request["body"]:
        lines.append(f"       -> {request['status']}")
    else:
        body = " ".join(request["body"].split())
        lines.append(f"       -> {request['status']}  {body[:SHOWN_BODY]}")
    return lines


def _verb(verb: dict[str, Any]) -> str:
    name, attributes = verb["verb"], verb["attributes"]
    if name == "Say":
        return f'<Say> "{verb["text"] or ""}"'
    if name == "Dial":
        numbers = [noun["text"] or "" for noun in verb["nouns"] if noun["noun"] == "Number"]
        target = " ".join(numbers) or verb["text"] or "(nothing)"
        shown = "".join(f" {key}={attributes[key]}" for key in SHOWN_DIAL_ATTRIBUTES if key in attributes)
        return f"<Dial {target}{shown}>"
    shown = "".join(f" {key}={value}" for key, value in attributes.items())
    text = f" {verb['text']}" if verb["text"] else ""
    return f"<{name}{shown}>{text}"


if __name__ == "__main__":
    raise SystemExit(main())

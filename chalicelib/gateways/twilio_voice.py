"""Twilio's voice webhooks: whether a request is Twilio's (X-Twilio-Signature), and the TwiML we answer.
twilio's validator and TwiML builder are imported on first use, not at cold start."""
from __future__ import annotations

import functools
from typing import Any

from chalicelib.secret_store import secret

# What every dialed leg reports to the status webhook.
DIALED_LEG_EVENTS = "initiated ringing answered completed"
# A recorded <Dial>: both parties from the moment the seller answers, each on a channel of its own; and what
# of the recording's progress is posted (its start, then that it is ready, or that there is none).
RECORD_FROM_ANSWER_DUAL = "record-from-answer-dual"
RECORDING_EVENTS = "in-progress completed absent"


@functools.cache
def _validator(auth_token: str) -> Any:
    from twilio.request_validator import RequestValidator  # noqa: PLC0415

    return RequestValidator(auth_token)


def is_twilios(url: str, params: dict[str, str], signature: str | None) -> bool:
    """The signature Twilio computes over the URL it called and the posted parameters, with our auth
    token. Without a token (nothing to check against) no request is Twilio's."""
    auth_token = secret("TWILIO_AUTH_TOKEN")
    if not auth_token or not signature:
        return False
    return _validator(auth_token).validate(url, params, signature)


def dial(number: str, *, caller_id: str, action_url: str, status_url: str, ring_seconds: int,
         time_limit: int, recording_url: str | None = None, disclosure: str | None = None) -> str:
    """Ring `number` for `ring_seconds`; talk at most `time_limit`; then Twilio posts the outcome to
    `action_url`, and every event of the dialed leg to `status_url`. With `recording_url` the talk is
    recorded from answer, each party on its own channel, and the recording's progress is posted there;
    `disclosure` is said to the caller before anyone is rung."""
    from twilio.twiml.voice_response import Dial, VoiceResponse  # noqa: PLC0415

    recording = {"record": RECORD_FROM_ANSWER_DUAL, "recording_status_callback": recording_url,
                 "recording_status_callback_method": "POST",
                 "recording_status_callback_event": RECORDING_EVENTS} if recording_url else {}
    response, verb = VoiceResponse(), Dial(action=action_url, method="POST", caller_id=caller_id,
                                           timeout=ring_seconds, time_limit=time_limit, **recording)
    verb.number(number, status_callback=status_url, status_callback_event=DIALED_LEG_EVENTS,
                status_callback_method="POST")
    if disclosure:
        response.say(disclosure)
    response.append(verb)
    return str(response)


def goodbye(message: str) -> str:
    from twilio.twiml.voice_response import VoiceResponse  # noqa: PLC0415

    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return str(response)


def hang_up() -> str:
    from twilio.twiml.voice_response import VoiceResponse  # noqa: PLC0415

    response = VoiceResponse()
    response.hangup()
    return str(response)

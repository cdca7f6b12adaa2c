"""Twilio's voice webhooks: whether a request is Twilio's (X-Twilio-Signature), and the TwiML we answer.
twilio's validator and TwiML builder are imported on first use, not at cold start."""
from __future__ import annotations

import functools
from typing import Any

from chalicelib.secret_store import secret

# What every dialed leg reports to the status webhook.
DIALED_LEG_EVENTS = "initiated ringing answered completed"


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
         time_limit: int) -> str:
    """Ring `number` for `ring_seconds`; talk at most `time_limit`; then Twilio posts the outcome to
    `action_url`, and every event of the dialed leg to `status_url`."""
    from twilio.twiml.voice_response import Dial, VoiceResponse  # noqa: PLC0415

    response, verb = VoiceResponse(), Dial(action=action_url, method="POST", caller_id=caller_id,
                                           timeout=ring_seconds, time_limit=time_limit)
    verb.number(number, status_callback=status_url, status_callback_event=DIALED_LEG_EVENTS,
                status_callback_method="POST")
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

"""What the phone network is asked to do, `POST /simulator/calls` (and `make call`): who calls which number,
how long the talk lasts if someone answers, what each dialed phone does. Checked before anything is placed:
a request that makes no sense is a SimulatorInputError (400), not a call."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SIMULATOR_PATH = "/simulator/calls"
SCRIPT_FIELDS = ("from", "to", "talk_seconds", "dial_outcomes")
DIAL_OUTCOMES = ("answered", "no-answer", "busy", "failed")  # what a dialed phone does
E164 = re.compile(r"\+[1-9]\d{1,14}")
DEFAULT_TALK_SECONDS = 60
MAX_CALL_SECONDS = 14400  # Twilio's longest <Dial timeLimit> (4 hours), and the longest talk simulated


class SimulatorInputError(ValueError):
    """A request to the phone network that makes no sense: 400."""

    def __init__(self, field_name: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field_name

    def body(self) -> dict[str, Any]:
        return {"error": "BAD_REQUEST", "field": self.field, "message": str(self)}


@dataclass(frozen=True)
class CallScript:
    """What the phone network is asked to do: who calls which number, how long the talk lasts if someone
    answers, and what each dialed destination does (answered unless listed)."""

    caller: str
    called: str
    talk_seconds: int = DEFAULT_TALK_SECONDS
    dial_outcomes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, body: Any) -> "CallScript":
        if not isinstance(body, dict):
            raise SimulatorInputError(None, "the body must be a JSON object")
        unknown = sorted(set(body) - set(SCRIPT_FIELDS))
        if unknown:
            raise SimulatorInputError(unknown[0], f"unknown field {unknown[0]!r}: the fields are "
                                                  + ", ".join(SCRIPT_FIELDS))
        caller, called = _e164_field(body, "from"), _e164_field(body, "to")
        talk = body.get("talk_seconds", DEFAULT_TALK_SECONDS)
        if isinstance(talk, bool) or not isinstance(talk, int) or not 0 <= talk <= MAX_CALL_SECONDS:
            raise SimulatorInputError("talk_seconds", f"talk_seconds must be a whole number of seconds from 0 "
                                                      f"to {MAX_CALL_SECONDS}")
        outcomes = body.get("dial_outcomes") or {}
        if not isinstance(outcomes, dict):
            raise SimulatorInputError("dial_outcomes", "dial_outcomes must be an object: {E.164 number: outcome}")
        for number, outcome in outcomes.items():
            if not E164.fullmatch(number):
                raise SimulatorInputError("dial_outcomes", f"dial_outcomes: {number!r} is not an E.164 number")
            if outcome not in DIAL_OUTCOMES:
                raise SimulatorInputError("dial_outcomes", f"dial_outcomes[{number!r}] must be one of "
                                                           + ", ".join(DIAL_OUTCOMES))
        return cls(caller, called, talk, dict(outcomes))


def _e164_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise SimulatorInputError(name, f"{name} is required: an E.164 number such as +14155550100")
    if not isinstance(value, str) or not E164.fullmatch(value):
        raise SimulatorInputError(name, f"{name} must be an E.164 number such as +14155550100")
    return value

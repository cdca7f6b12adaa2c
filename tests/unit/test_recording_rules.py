"""Recording rules: who is told a call is recorded, which recording status replaces which, and the TwiML of a
recorded <Dial> (record attributes; the disclosure before it) against one that records nothing."""
import xml.etree.ElementTree as ET

import pytest

from chalicelib.domain import calls as lifecycle
from chalicelib.domain import compliance
from chalicelib.persistence.tables import CallModel
from chalicelib.services import live_calls

ALL_PARTY = ("CA", "DE", "FL", "IL", "MD", "MA", "MT", "NV", "NH", "PA", "WA")


@pytest.mark.parametrize("state", ALL_PARTY)
def test_callers_of_all_party_consent_states_are_told(state):
    assert compliance.recording_disclosure(state) == compliance.RECORDING_DISCLOSURE


@pytest.mark.parametrize("state", ["TX", "NY", "GA", "ON", "PR", None])
def test_callers_elsewhere_are_not(state):
    assert compliance.recording_disclosure(state) is None


@pytest.mark.parametrize("current, status, replaces", [
    (None, "in-progress", True), (None, "completed", True), ("in-progress", "completed", True),
    ("in-progress", "absent", True), ("in-progress", "failed", True),
    ("completed", "in-progress", False), ("completed", "completed", False), ("completed", "absent", False),
    ("absent", "completed", False), ("in-progress", "in-progress", False), (None, "paused", False),
    ("in-progress", "stopped", False),
])
def test_a_recording_status_only_moves_forward(current, status, replaces):
    assert lifecycle.recording_moves_forward(current, status) is replaces


def dial_twiml(caller_state: str | None, record: bool) -> ET.Element:
    call = CallModel(call_id="c", from_number="+14155552671", to_number="+14155550100", caller_state=caller_state,
                     owner_id="o", status="queued", owner_status="o#queued")
    return ET.fromstring(live_calls._dial_twiml(call, "+13125550002", 600, record))


def test_a_recorded_dial_for_a_california_caller_says_the_disclosure_first():
    root = dial_twiml("CA", record=True)
    assert [verb.tag for verb in root] == ["Say", "Dial"]
    assert root.find("Say").text == "This call may be recorded for quality and training purposes."
    dial = root.find("Dial").attrib
    assert dial["record"] == "record-from-answer-dual"
    assert dial["recordingStatusCallback"] == "http://127.0.0.1:8000/api/v1/webhooks/twilio/recording"
    assert dial["recordingStatusCallbackMethod"] == "POST"
    assert dial["recordingStatusCallbackEvent"] == "in-progress completed absent"
    assert (dial["timeLimit"], root.find("Dial/Number").text) == ("600", "+13125550002")


def test_a_recorded_dial_for_a_texas_caller_has_no_disclosure():
    root = dial_twiml("TX", record=True)
    assert [verb.tag for verb in root] == ["Dial"]
    assert root.find("Dial").get("record") == "record-from-answer-dual"


@pytest.mark.parametrize("state", ["CA", "TX"])
def test_a_dial_that_does_not_record_has_no_record_attribute_and_no_disclosure(state):
    root = dial_twiml(state, record=False)
    assert [verb.tag for verb in root] == ["Dial"]
    assert not [name for name in root.find("Dial").attrib if name.lower().startswith("record")]

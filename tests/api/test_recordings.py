"""Recorded live calls: a profile with record_calls has its <Dial> recorded from answer, dual channel (with a
disclosure first for a caller of an all-party-consent state); Twilio's recording status callback stores the
recording on the call, only ever forward; its buyer, its seller and admins fetch the audio from Twilio."""
import io
import uuid
import wave

import pytest

from chalicelib.domain.compliance import RECORDING_DISCLOSURE
from tests.api.test_webhooks import BASE, Twilio, buyer, dialed, the_call, twiml  # noqa: F401 - buyer: a fixture

pytestmark = pytest.mark.usefixtures("afternoon_in_new_york")

CALIFORNIA = "+14155552671"  # San Francisco: every party must consent to a recording
TEXAS = "+12145552671"  # Dallas: one party's consent is enough
RECORDING_URL = f"{BASE}/api/v1/webhooks/twilio/recording"


@pytest.fixture
def twilio(api):
    return Twilio(api)


def recording_seller(api, bid: str, destination: str, record: bool = True) -> dict:
    user = api.register("seller")
    api.fund(user, "50.00")
    body = {"criteria": {}, "bid_amount": bid, "destination_number": destination, "record_calls": record}
    assert api.post("/bid-profiles", body, token=user["token"]).status == 201
    return user


def recording_callback(twilio, call_sid: str, recording_sid: str, status: str, duration: int | None = None,
                       signature: str | None = None):
    params = {"AccountSid": "AC" + "0" * 32, "CallSid": call_sid, "RecordingSid": recording_sid,
              "RecordingStatus": status, "RecordingChannels": "2", "RecordingSource": "DialVerb",
              "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{recording_sid}"}
    if duration is not None:
        params["RecordingDuration"] = str(duration)
    return twilio.post("/webhooks/twilio/recording", params, signature=signature)


def new_recording_sid() -> str:
    return "RE" + uuid.uuid4().hex


def answered_call(api, twilio, call_sid: str, talk: int = 95) -> None:
    """The recorded seller answers and they talk `talk` seconds."""
    twilio.leg(call_sid, "in-progress")
    twilio.dial_action(call_sid, "completed", talk)


def fetch_audio(api, call_id: str, token: str | None, accept: str | None = "audio/wav"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if accept:
        headers["Accept"] = accept
    return api.client.http.request("GET", f"/api/v1/calls/{call_id}/recording", headers=headers)


def error_code(response) -> str:
    import json

    return json.loads(response.body)["error"]["code"]


# --- the TwiML ---------------------------------------------------------------------------------------

def test_a_recorded_call_from_california_is_told_first_and_its_dial_records(api, twilio, buyer):
    recording_seller(api, "5.00", "+13125550002")
    sid = "CA" + "a" * 32
    first = twilio.voice(sid, from_number=CALIFORNIA)
    root = twiml(first)
    assert [verb.tag for verb in root] == ["Say", "Dial"]
    assert root.find("Say").text == RECORDING_DISCLOSURE
    _, dial = dialed(first)
    assert dial["record"] == "record-from-answer-dual"
    assert (dial["recordingStatusCallback"], dial["recordingStatusCallbackMethod"]) == (RECORDING_URL, "POST")
    assert dial["recordingStatusCallbackEvent"] == "in-progress completed absent"
    assert twilio.voice(sid, from_number=CALIFORNIA).body == first.body  # Twilio repeating itself: the same
    assert the_call(sid).attempts[0]["record"] is True


def test_a_recorded_call_from_texas_records_without_a_disclosure(api, twilio, buyer):
    recording_seller(api, "5.00", "+13125550002")
    root = twiml(twilio.voice("CA" + "b" * 32, from_number=TEXAS))
    assert [verb.tag for verb in root] == ["Dial"]
    assert root.find("Dial").get("record") == "record-from-answer-dual"


def test_a_profile_that_does_not_record_is_dialed_without_recording_or_disclosure(api, twilio, buyer):
    recording_seller(api, "5.00", "+13125550002", record=False)
    root = twiml(twilio.voice("CA" + "c" * 32, from_number=CALIFORNIA))
    assert [verb.tag for verb in root] == ["Dial"]
    assert not {name for name in root.find("Dial").attrib if name.startswith("record")}


def test_each_attempt_of_a_ring_tree_records_as_its_own_profile_says(api, twilio, buyer):
    recording_seller(api, "5.00", "+13125550002")
    recording_seller(api, "4.00", "+13125550003", record=False)
    sid = "CA" + "d" * 32
    assert twiml(twilio.voice(sid, from_number=CALIFORNIA)).find("Dial").get("record") == "record-from-answer-dual"
    leg = twilio.legs[sid]
    second = twilio.dial_action(sid, "no-answer")
    assert dialed(second)[0] == "+13125550003" and twiml(second).find("Say") is None
    assert twiml(second).find("Dial").get("record") is None
    assert twilio.dial_action(sid, "no-answer", leg_sid=leg).body == second.body  # the first action, repeated
    assert [a["record"] for a in the_call(sid).attempts] == [True, False]


# --- POST /webhooks/twilio/recording -------------------------------------------------------------------

def test_a_forged_or_missing_signature_is_403_and_stores_nothing(api, twilio, buyer):
    recording_seller(api, "5.00", "+13125550002")
    sid = "CA" + "e" * 32
    twilio.voice(sid)
    assert recording_callback(twilio, sid, new_recording_sid(), "completed", 95,
                              signature="bm90IHR3aWxpbw==").status_code == 403
    assert recording_callback(twilio, sid, new_recording_sid(), "completed", 95, signature="").status_code == 403
    assert the_call(sid).recording is None


def test_the_recording_is_stored_on_the_call_and_only_ever_moves_forward(api, twilio, buyer):
    recorded = recording_seller(api, "5.00", "+13125550002")
    sid, recording_sid = "CA" + "f" * 32, new_recording_sid()
    twilio.voice(sid)
    call_id = the_call(sid).call_id
    assert api.get(f"/calls/{call_id}", token=buyer["token"]).data["recording"] is None
    answered_call(api, twilio, sid)

    assert recording_callback(twilio, sid, recording_sid, "in-progress").status_code == 204
    shown = api.get(f"/calls/{call_id}", token=recorded["token"]).data["recording"]
    assert shown == {"sid": recording_sid, "status": "in-progress", "duration": None}
    assert recording_callback(twilio, sid, recording_sid, "completed", 95).status_code == 204
    for late in (("in-progress", None), ("absent", 0), ("completed", 12)):  # late, or repeated: nothing changes
        assert recording_callback(twilio, sid, recording_sid, *late).status_code == 204
    shown = api.get(f"/calls/{call_id}", token=buyer["token"]).data["recording"]
    assert shown == {"sid": recording_sid, "status": "completed", "duration": 95}
    assert the_call(sid).recording.url.endswith(f"/Recordings/{recording_sid}")  # kept, never shown


def test_a_completed_status_before_in_progress_stays_completed(api, twilio, buyer):
    recording_seller(api, "5.00", "+13125550002")
    sid, recording_sid = "CA" + "1" * 32, new_recording_sid()
    twilio.voice(sid)
    answered_call(api, twilio, sid, talk=30)
    recording_callback(twilio, sid, recording_sid, "completed", 30)
    recording_callback(twilio, sid, recording_sid, "in-progress")
    stored = the_call(sid).recording
    assert (stored.sid, stored.status, stored.duration) == (recording_sid, "completed", 30)


def test_an_unknown_call_or_status_is_answered_and_stores_nothing(api, twilio, buyer):
    recording_seller(api, "5.00", "+13125550002")
    sid = "CA" + "2" * 32
    twilio.voice(sid)
    assert recording_callback(twilio, "CA" + "9" * 32, new_recording_sid(), "completed", 5).status_code == 204
    assert recording_callback(twilio, sid, new_recording_sid(), "paused").status_code == 204
    assert the_call(sid).recording is None
    malformed = recording_callback(twilio, sid, "RE-not-a-sid", "completed", 5)
    assert malformed.status_code == 400 and the_call(sid).recording is None


# --- GET /calls/{id}/recording ------------------------------------------------------------------------

@pytest.fixture
def recorded_call(api, twilio, buyer, twilio_emulator):
    """A call its seller recorded, 95 seconds of talk, the recording completed at Twilio (the emulator) and
    stored on the call: (call id, its seller)."""
    recorded = recording_seller(api, "5.00", "+13125550002")
    sid = "CA" + "3" * 32
    twilio.voice(sid)
    answered_call(api, twilio, sid)
    recording = twilio_emulator.add_recording(sid, talk_seconds=95)
    assert recording_callback(twilio, sid, recording["sid"], "completed", 95).status_code == 204
    return the_call(sid).call_id, recorded


def test_its_buyer_its_seller_and_admins_get_the_audio_as_wav(api, buyer, recorded_call):
    call_id, recorded = recorded_call
    for token in (buyer["token"], recorded["token"], api.admin()["token"]):
        response = fetch_audio(api, call_id, token)
        assert response.status_code == 200 and response.headers["Content-Type"] == "audio/wav"
        assert response.headers["Content-Disposition"] == f'inline; filename="{call_id}.wav"'
        with wave.open(io.BytesIO(response.body)) as played:
            assert (played.getnchannels(), played.getsampwidth(), played.getframerate()) == (2, 2, 8000)
            assert played.getnframes() > 0
    assert fetch_audio(api, call_id, buyer["token"], accept="*/*").status_code == 200


def test_anyone_else_finds_no_such_call_and_nobody_without_a_token_gets_it(api, recorded_call):
    call_id, _ = recorded_call
    rival = api.register("seller")
    other_buyer = api.register("buyer")
    for token in (rival["token"], other_buyer["token"]):
        response = fetch_audio(api, call_id, token)
        assert response.status_code == 404 and error_code(response) == "CALL_NOT_FOUND"
    anonymous = fetch_audio(api, call_id, None)
    assert anonymous.status_code == 401 and error_code(anonymous) == "MISSING_TOKEN"


def test_a_client_that_does_not_accept_wav_is_406(api, buyer, recorded_call):
    call_id, _ = recorded_call
    for accept in (None, "application/json"):
        response = fetch_audio(api, call_id, buyer["token"], accept=accept)
        assert response.status_code == 406 and error_code(response) == "NOT_ACCEPTABLE"


def test_no_completed_recording_is_404_recording_not_found(api, twilio, buyer, twilio_emulator):
    recording_seller(api, "5.00", "+13125550002")
    sid = "CA" + "4" * 32
    twilio.voice(sid)
    call_id = the_call(sid).call_id
    response = fetch_audio(api, call_id, buyer["token"])
    assert response.status_code == 404 and error_code(response) == "RECORDING_NOT_FOUND"
    answered_call(api, twilio, sid)
    recording_callback(twilio, sid, new_recording_sid(), "in-progress")  # not ready yet
    assert error_code(fetch_audio(api, call_id, buyer["token"])) == "RECORDING_NOT_FOUND"
    recording_callback(twilio, sid, new_recording_sid(), "completed", 95)  # a recording Twilio no longer has
    assert error_code(fetch_audio(api, call_id, buyer["token"])) == "RECORDING_NOT_FOUND"
    unknown = fetch_audio(api, str(uuid.uuid4()), buyer["token"])
    assert unknown.status_code == 404 and error_code(unknown) == "CALL_NOT_FOUND"


def test_twilio_unavailable_is_503_after_bounded_retries(api, buyer, recorded_call, twilio_emulator):
    call_id, _ = recorded_call
    twilio_emulator.inject_faults(503, 20503, count=3, method="GET", kind="recording_media")
    response = fetch_audio(api, call_id, buyer["token"])
    assert response.status_code == 503 and error_code(response) == "TELEPHONY_PROVIDER_UNAVAILABLE"
    assert twilio_emulator.request_counts[("GET", "recording_media")] == 3
    assert fetch_audio(api, call_id, buyer["token"]).status_code == 200

"""A live call's recording: a profile that records calls has its <Dial> recorded (services/live_calls.py),
Twilio's recordingStatusCallback stores the recording on the call, its status only ever moving forward, and
the call's buyer, its seller and admins fetch the audio, which stays at Twilio."""
from __future__ import annotations

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.domain import calls as lifecycle
from chalicelib.domain.errors import NotFound
from chalicelib.gateways import twilio
from chalicelib.observability import logger
from chalicelib.persistence.unit_of_work import UnitOfWork
from chalicelib.persistence.tables import CallModel
from chalicelib.persistence.tables.calls import RecordingAttribute
from chalicelib.services import calls, live_calls

# Callbacks of one recording that meet (in-progress and completed at once) each read the call again.
WRITE_ATTEMPTS = 3


def recording_status(call_sid: str, recording_sid: str, status: str, duration: int | None, url: str | None) -> None:
    """Twilio's recordingStatusCallback: the recording's latest status on its call (a <Dial>'s recording names
    the parent call's CallSid, the call our voice webhook created). A repeated or late callback changes
    nothing; unknown calls are logged and left alone (Twilio would retry an error forever)."""
    if status not in lifecycle.RECORDING_STATUSES:  # one Twilio does not document (yet): nothing to store
        logger.warning("Unknown RecordingStatus", extra={"recording_status": status[:32]})
        return
    for _ in range(WRITE_ATTEMPTS):
        try:
            call = CallModel.get(live_calls.call_id_of(call_sid), consistent_read=True)
        except CallModel.DoesNotExist:
            logger.info("Recording callback for an unknown call", extra={"recording_status": status[:32]})
            return
        current = call.recording.status if call.recording else None
        if not lifecycle.recording_moves_forward(current, status):
            return
        recording = RecordingAttribute(sid=recording_sid, status=status, url=url,
                                       duration=duration if duration is not None and duration >= 0 else None)
        unchanged = CallModel.recording.does_not_exist() if current is None else CallModel.recording.status == current
        try:
            with UnitOfWork() as work:
                work.update(call, actions=[CallModel.recording.set(recording), CallModel.updated_at.set(clock.now())],
                            condition=unchanged)
            return
        except TransactWriteError:  # another callback of it was stored meanwhile: decide again on what it stored
            logger.info("Recording callback lost a race", extra={"call_id": call.call_id})
    logger.warning("Recording callback not stored", extra={"call_sid": call_sid[:64], "recording_status": status[:32]})


def audio(principal: Principal, call_id: str) -> bytes:
    """The completed recording's audio (WAV), for the call's buyer, its seller or an admin: anyone else
    finds no such call (404, as GET /calls/{id})."""
    call = calls.get_call(principal, call_id)
    recording = call.recording
    if recording is None or recording.status != lifecycle.RECORDING_COMPLETED:
        raise _no_recording()
    try:
        found = twilio.recording_audio(recording.sid)
    except twilio.TwilioCallFailed as failure:
        raise failure.product_error() from None
    if found is None:  # deleted at Twilio since
        raise _no_recording()
    return found


def _no_recording() -> NotFound:
    return NotFound("The call has no recording", code="RECORDING_NOT_FOUND")

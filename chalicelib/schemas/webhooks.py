"""What Twilio posts to the voice webhooks (form-encoded, its own PascalCase names). Twilio sends many
more parameters than these, and adds new ones: the rest are ignored, never refused."""
from pydantic import ConfigDict, Field

from chalicelib.schemas.common import WireModel


class TwilioRequest(WireModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    call_sid: str = Field(alias="CallSid", min_length=2, max_length=64)


class VoiceRequest(TwilioRequest):
    """A call arriving on one of our numbers."""

    from_number: str = Field(alias="From", max_length=64)
    to_number: str = Field(alias="To", max_length=64)


class DialAction(TwilioRequest):
    """The outcome of a <Dial>: completed or answered (bridged), busy, no-answer, failed or canceled."""

    dial_call_status: str = Field(alias="DialCallStatus", max_length=32)
    dial_call_duration: int | None = Field(None, alias="DialCallDuration", ge=0)
    # The dialed leg: which ring attempt this action ends (a repeated or late action changes nothing).
    dial_call_sid: str | None = Field(None, alias="DialCallSid", max_length=64)


class StatusCallback(TwilioRequest):
    """A dialed leg's progress: initiated, ringing, in-progress, completed (with its duration), busy,
    no-answer, failed or canceled."""

    parent_call_sid: str | None = Field(None, alias="ParentCallSid", max_length=64)
    call_status: str = Field(alias="CallStatus", max_length=32)
    call_duration: int | None = Field(None, alias="CallDuration", ge=0)


class RecordingCallback(TwilioRequest):
    """A recording's progress (recordingStatusCallback): in-progress, then completed (its audio is ready),
    absent (nothing was recorded) or failed. The CallSid of a <Dial>'s recording is the parent call's."""

    recording_sid: str = Field(alias="RecordingSid", pattern=r"^RE[0-9a-fA-F]{32}$")
    recording_status: str = Field(alias="RecordingStatus", max_length=32)
    # Seconds; Twilio gives none (or -1) while it records.
    recording_duration: int | None = Field(None, alias="RecordingDuration", ge=-1, le=86_400)
    recording_url: str | None = Field(None, alias="RecordingUrl", max_length=512)

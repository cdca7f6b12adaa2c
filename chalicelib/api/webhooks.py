"""Twilio's voice webhooks: no token, Twilio's signature instead (checked before anything is read)."""
from chalicelib.api.http import PUBLIC, Api, Call, Reply
from chalicelib.schemas import models
from chalicelib.services import live_calls, recordings

schemas = models("webhooks")  # imported on first use, not at cold start

api = Api(__name__, tag="webhooks")
TWIML = "text/xml"


def twiml(document: str) -> Reply:
    return Reply(raw_body=document, headers={"Content-Type": TWIML})


@api.route("/webhooks/twilio/voice", "POST", summary="Twilio: a call arrives on a number (answers TwiML)",
           roles=PUBLIC, body=schemas.VoiceRequest, form=True, raw_media_type=TWIML, errors=(403,),
           signed_by=live_calls.verify)
def voice(call: Call):
    return twiml(live_calls.incoming(call.body.call_sid, call.body.from_number, call.body.to_number))


@api.route("/webhooks/twilio/dial", "POST", summary="Twilio: a <Dial> ended (rings the next seller, or bills)",
           roles=PUBLIC, body=schemas.DialAction, form=True, raw_media_type=TWIML, errors=(403,),
           signed_by=live_calls.verify)
def dial(call: Call):
    b = call.body
    return twiml(live_calls.dial_finished(b.call_sid, b.dial_call_status, b.dial_call_duration, b.dial_call_sid))


@api.route("/webhooks/twilio/status", "POST", summary="Twilio: a dialed leg's status callback", roles=PUBLIC,
           body=schemas.StatusCallback, form=True, status=204, errors=(403,), signed_by=live_calls.verify)
def status(call: Call):
    b = call.body
    live_calls.leg_status(b.call_sid, b.parent_call_sid, b.call_status, b.call_duration)
    return Reply(status=204)


@api.route("/webhooks/twilio/recording", "POST", summary="Twilio: a recorded call's recording status callback",
           roles=PUBLIC, body=schemas.RecordingCallback, form=True, status=204, errors=(403,),
           signed_by=live_calls.verify)
def recording(call: Call):
    b = call.body
    recordings.recording_status(b.call_sid, b.recording_sid, b.recording_status, b.recording_duration, b.recording_url)
    return Reply(status=204)

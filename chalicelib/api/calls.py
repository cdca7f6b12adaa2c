"""Calls: create, list, read, route, move along, complete; a live call's recording."""
from chalicelib.api.http import BUYERS, SELLERS_ONLY, Api, Call, Reply
from chalicelib.schemas import models
from chalicelib.services import calls, disputes, recordings, routing

schemas = models("exchange")  # imported on first use, not at cold start

api = Api(__name__, tag="exchange")
WAV = "audio/wav"


@api.route("/calls", "POST", summary="Create a call (compliance checked)", roles=BUYERS, body=schemas.CreateCall,
           response=schemas.CallOut, status=201)
def create_call(call: Call):
    return calls.create_call(call.principal, call.body.model_dump())


@api.route("/calls", "GET", summary="Calls, newest first: a buyer's own, a seller's routed to it, an admin's anyone's "
           "(?user_id=) or everyone's", query=schemas.CallListQuery, response=schemas.CallOut, paginated=True,
           errors=(403, 404))
def list_calls(call: Call):
    q = call.query
    return calls.list_calls(call.principal, q.status, q.page, q.limit, q.next_token, q.user_id)


@api.route("/calls/{call_id}", "GET", summary="A call (its buyer, its seller or an admin)", response=schemas.CallOut,
           errors=(404,))
def get_call(call: Call, call_id: str):
    return calls.shown(call.principal, calls.get_call(call.principal, call_id))


@api.route("/calls/{call_id}/recording", "GET", summary="A live call's recording: its audio, WAV, dual channel "
           "(its buyer, its seller or an admin; send Accept: audio/wav or */*)", raw_media_type=WAV,
           errors=(404, 406, 502, 503))
def get_recording(call: Call, call_id: str):
    call.ensure_accepts(WAV)
    return Reply(raw_body=recordings.audio(call.principal, call_id),
                 headers={"Content-Type": WAV, "Content-Disposition": f'inline; filename="{call_id}.wav"'})


@api.route("/calls/{call_id}/route", "POST", summary="Route to the auction winner or the best bid profile",
           roles=BUYERS, response=schemas.CallOut, errors=(402, 404, 409))
def route_call(call: Call, call_id: str):
    return routing.route_call(call.principal, call_id)


@api.route("/calls/{call_id}/status", "PATCH", summary="Move a call along its lifecycle", roles=BUYERS,
           body=schemas.CallStatusUpdate, response=schemas.CallOut, errors=(404,))
def change_status(call: Call, call_id: str):
    return calls.change_status(call.principal, call_id, call.body.status)


@api.route("/calls/{call_id}/complete", "POST", summary="Complete a call and bill it (once)", roles=BUYERS,
           body=schemas.CompleteCall, response=schemas.CallOut, errors=(404,))
def complete_call(call: Call, call_id: str):
    return calls.complete_call(call.principal, call_id, call.body.duration)


@api.route("/calls/{call_id}/disputes", "POST", summary="Dispute a billed call its buyer reported (its seller, within "
           "7 days)", roles=SELLERS_ONLY, body=schemas.DisputeRequest, response=schemas.DisputeOut, status=201,
           errors=(404, 409))
def dispute_call(call: Call, call_id: str):
    return disputes.open_dispute(call.principal, call_id, call.body.reason)

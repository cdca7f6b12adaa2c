"""The caller's realtime events of the last 24 hours, read back: what a client that was away missed."""
from chalicelib.api.http import Api, Call
from chalicelib.schemas import models
from chalicelib.services import event_history

schemas = models("events", "common")  # imported on first use, not at cold start

api = Api(__name__, tag="events")


@api.route("/events", "GET", summary="The caller's events after one it names (all of the last 24 hours "
           "without it), oldest first", query=schemas.EventsQuery, response=schemas.EventOut, paginated=True,
           errors=(404,))
def list_events(call: Call):
    q = call.query
    return event_history.list_events(call.principal, q.after, q.limit, q.next_token)

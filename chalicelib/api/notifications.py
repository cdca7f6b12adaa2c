"""The caller's notification inbox."""
from chalicelib.api.http import Api, Call
from chalicelib.schemas import models
from chalicelib.services import notifications

schemas = models("notifications", "common")  # imported on first use, not at cold start

api = Api(__name__, tag="notifications")


@api.route("/notifications", "GET", summary="The caller's notifications, newest first", query=schemas.PageQuery,
           response=schemas.NotificationOut, paginated=True)
def list_notifications(call: Call):
    q = call.query
    return notifications.list_notifications(call.principal, q.page, q.limit, q.next_token)

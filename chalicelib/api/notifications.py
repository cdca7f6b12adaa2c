"""The caller's notification inbox."""
from chalicelib.http import Api, Call
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.notifications import NotificationOut
from chalicelib.services import notifications

api = Api(__name__, tag="notifications")


@api.route("/notifications", "GET", summary="The caller's notifications, newest first", query=PageQuery,
           response=NotificationOut, paginated=True)
def list_notifications(call: Call):
    q = call.query
    return notifications.list_notifications(call.principal, q.page, q.limit, q.next_token)

"""The caller's notification inbox."""
from chalicelib.http import Api, Call
from chalicelib.persistence.models import NotificationModel
from chalicelib.persistence.pagination import paginate
from chalicelib.schemas.common import PageQuery
from chalicelib.schemas.notifications import NotificationOut

api = Api(__name__, tag="notifications")


@api.route("/notifications", "GET", summary="The caller's notifications, newest first", query=PageQuery,
           response=NotificationOut, paginated=True)
def list_notifications(call: Call):
    user_id, q = call.principal.user_id, call.query

    def run(start_key, count):
        return NotificationModel.query(user_id, scan_index_forward=False, last_evaluated_key=start_key, limit=count)

    return paginate(run, lambda: NotificationModel.count(user_id), scope=f"notifications:{user_id}",
                    page=q.page, limit=q.limit, next_token=q.next_token)

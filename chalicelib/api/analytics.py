"""The caller's dashboard, from counters kept with the writes (no scans)."""
from chalicelib.http import Api, Call
from chalicelib.schemas.numbers import DashboardOut
from chalicelib.services import analytics

api = Api(__name__, tag="analytics")


@api.route("/analytics/dashboard", "GET", summary="Totals for the caller's account", response=DashboardOut)
def dashboard(call: Call):
    return {"summary": analytics.stats(call.principal.user_id)}

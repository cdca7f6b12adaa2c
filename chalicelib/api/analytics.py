"""The caller's dashboard, from counters kept with the writes (no scans)."""
from chalicelib.api.http import Api, Call
from chalicelib.schemas import models
from chalicelib.services import analytics

schemas = models("numbers")  # imported on first use, not at cold start

api = Api(__name__, tag="analytics")


@api.route("/analytics/dashboard", "GET", summary="Totals for the caller's role (a buyer's numbers, calls and "
           "earnings; a seller's calls won, spend, win rate and average price)", response=schemas.DashboardOut)
def dashboard(call: Call):
    return analytics.dashboard(call.principal)

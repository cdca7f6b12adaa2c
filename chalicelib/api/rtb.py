"""Real-time bidding: inbound pings from buyers, and the admins' view of the pool numbers."""
from chalicelib.api.http import ADMIN, BUYERS, RTB_PINGS_LIMIT, Api, Call
from chalicelib.schemas import models
from chalicelib.services import rtb_pool

schemas = models("rtb")  # imported on first use, not at cold start

api = Api(__name__, tag="rtb")


@api.route("/rtb/pings", "POST", summary="What will the exchange pay for this caller? A bid and a number to send "
           "the call to, or no bid", roles=BUYERS, body=schemas.RtbPingRequest, response=schemas.RtbPingOut,
           limit=RTB_PINGS_LIMIT)
def ping(call: Call):
    return rtb_pool.ping(call.principal, call.body.model_dump())


@api.route("/admin/rtb/pool", "GET", summary="The RTB pool numbers and their live reservations", roles=ADMIN,
           response=list[schemas.PoolNumberOut])
def pool(call: Call):
    return rtb_pool.pool_view()

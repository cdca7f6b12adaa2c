"""Compliance lists: admins write, every account may read. And the calls compliance refused."""
from chalicelib.api.http import ADMIN, BUYERS, Api, Call, Reply
from chalicelib.schemas import models
from chalicelib.services import compliance

schemas = models("exchange")  # imported on first use, not at cold start

api = Api(__name__, tag="compliance")


@api.route("/compliance/dnc", "POST", summary="Put a number on the Do-Not-Call list", roles=ADMIN,
           body=schemas.DncRequest, response=schemas.DncOut, status=201)
def add_dnc(call: Call):
    b = call.body
    compliance.add_dnc(call.principal, b.phone_number, b.reason, b.list_type)
    return compliance.dnc_status(b.phone_number)


@api.route("/compliance/dnc/{phone_number}", "GET", summary="Is a number on the DNC list?", response=schemas.DncOut)
def check_dnc(call: Call, phone_number: str):
    return compliance.dnc_status(compliance.phone_from_path(phone_number))


@api.route("/compliance/dnc/{phone_number}", "DELETE", summary="Take a number off the DNC list", roles=ADMIN,
           status=204, errors=(404,))
def remove_dnc(call: Call, phone_number: str):
    compliance.remove_dnc(compliance.phone_from_path(phone_number))
    return Reply(status=204)


@api.route("/compliance/tcpa/hours", "PUT", summary="Set the TCPA calling window", roles=ADMIN, body=schemas.TcpaHours,
           response=schemas.TcpaHoursOut)
def set_hours(call: Call):
    b = call.body
    return compliance.set_tcpa_hours(b.start_time, b.end_time, b.timezone)


@api.route("/compliance/tcpa/hours", "GET", summary="The TCPA calling window", response=schemas.TcpaHoursOut)
def get_hours(call: Call):
    return compliance.tcpa_hours()


@api.route("/compliance/geographic/restrictions", "POST",
           summary="Restrict calls to and from a state (201; 409 if it already is), or with restricted: false "
                   "lift its restriction (200; 404 if it is not restricted)",
           roles=ADMIN, body=schemas.GeoRestrictionRequest, response=schemas.GeoRestrictionOut, status=201,
           also_status=(200,), errors=(404, 409))
def add_restriction(call: Call):
    b = call.body
    if not b.restricted:
        rule = compliance.remove_restriction(b.state)
        return Reply({"state": rule.rule_key, "restricted": False, "reason": rule.reason,
                      "created_at": rule.created_at}, status=200)
    rule = compliance.add_restriction(b.state, b.reason)
    return {"state": rule.rule_key, "restricted": True, "reason": rule.reason, "created_at": rule.created_at}


@api.route("/compliance/geographic/restrictions", "GET", summary="Restricted states",
           response=list[schemas.GeoRestrictionOut])
def list_restrictions(call: Call):
    return compliance.restrictions()


@api.route("/compliance/geographic/restrictions/{state}", "DELETE", summary="Lift a state restriction",
           roles=ADMIN, status=204, errors=(404,))
def remove_restriction(call: Call, state: str):
    compliance.remove_restriction(state)  # validated there: two letters, else 400 without echo
    return Reply(status=204)


@api.route("/compliance/refusals", "GET", summary="Calls compliance refused, newest first", roles=BUYERS,
           query=schemas.RefusalListQuery, response=schemas.RefusalOut, paginated=True)
def list_refusals(call: Call):
    q = call.query
    return compliance.list_refusals(call.principal, q.user_id, q.page, q.limit, q.next_token)

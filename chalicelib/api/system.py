"""Health and the OpenAPI document: the two routes that must work without a token."""
import json

from chalicelib.config import get_settings
from chalicelib.domain.errors import DomainError, FieldProblem
from chalicelib.http import PUBLIC, Api, Call, Reply
from chalicelib.persistence.models import UserModel
from chalicelib.schemas.system import HealthOut

api = Api(__name__, tag="system")


@api.route("/health", "GET", summary="State of the service and its parts", roles=PUBLIC, response=HealthOut,
           errors=(503,))
def health(call: Call):
    components = {"dynamodb": _probe(_dynamodb_reachable), "sqs": _probe(_sqs_reachable)}
    down = [name for name, state in components.items() if state != "ok"]
    if down:
        raise Unavailable("Unavailable: " + ", ".join(down), code="DEGRADED",
                          details=[FieldProblem(name, "UNAVAILABLE", f"{name} is unavailable") for name in down])
    return {"status": "ok", "stage": get_settings().stage, "components": components}


class Unavailable(DomainError):
    status, default_code = 503, "DEGRADED"


def _probe(check) -> str:
    try:
        return "ok" if check() else "unavailable"
    except Exception:  # a health check reports failures, it does not raise them
        return "unavailable"


HEALTH_PROBE_KEY = "health-probe"  # never a user id (those are UUIDs)


def _dynamodb_reachable() -> bool:
    """A GetItem of a key that does not exist: one cheap read the functions' role may make (DescribeTable,
    what PynamoDB's exists calls, is not granted)."""
    try:
        UserModel.get(HEALTH_PROBE_KEY)
    except UserModel.DoesNotExist:
        pass
    return True


def _sqs_reachable() -> bool:
    from chalicelib.gateways.queues import NOTIFICATIONS, queue_url  # noqa: PLC0415 - boto3 only when probed

    return bool(queue_url(NOTIFICATIONS))


@api.route("/openapi.json", "GET", summary="This API's OpenAPI 3.1 document", roles=PUBLIC,
           raw_media_type="application/json")
def openapi(call: Call):
    from chalicelib.openapi import build_document  # noqa: PLC0415 - built only when asked for

    return Reply(raw_body=json.dumps(build_document()), headers={"Content-Type": "application/json"})

"""Health and the OpenAPI document: the two routes that must work without a token."""
import json

from chalicelib.config import get_settings
from chalicelib.domain.errors import DomainError, FieldProblem
from chalicelib.api.http import PUBLIC, Api, Call, Reply
from chalicelib.schemas import models
from chalicelib.services import health as health_checks

schemas = models("system")  # imported on first use, not at cold start

api = Api(__name__, tag="system")


class Unavailable(DomainError):
    status, default_code = 503, "DEGRADED"


@api.route("/health", "GET", summary="State of the service and its parts", roles=PUBLIC, response=schemas.HealthOut,
           errors=(503,))
def health(call: Call):
    components = health_checks.components()
    down = [name for name, state in components.items() if state != "ok"]
    if down:
        raise Unavailable("Unavailable: " + ", ".join(down), code="DEGRADED",
                          details=[FieldProblem(name, "UNAVAILABLE", f"{name} is unavailable") for name in down])
    return {"status": "ok", "stage": get_settings().stage, "components": components}


@api.route("/openapi.json", "GET", summary="This API's OpenAPI 3.1 document", roles=PUBLIC,
           raw_media_type="application/json")
def openapi(call: Call):
    from chalicelib.api.openapi import build_document  # noqa: PLC0415 - built only when asked for

    return Reply(raw_body=json.dumps(build_document()), headers={"Content-Type": "application/json"})

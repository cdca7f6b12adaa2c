"""Seed 003, "API Contract Testing" (test/contract/api_contract_test.go): answers are checked against the API's
own OpenAPI document. The seed validates against its hand-written api/openapi.yaml; ours is generated from the
routes and served at GET /api/v1/openapi.json, so the answers are checked against that."""
import re

import pytest
from openapi_schema_validator import OAS31Validator

from tests.seeds.helpers import SEED_CALLER, SEED_TOLL_FREE


@pytest.fixture
def document(api):
    result = api.get("/openapi.json")
    assert result.status == 200
    return result.body


def validate_response(document: dict, method: str, path: str, result) -> None:
    """The seed's validateResponse: the route is found in the document, the status is one it declares, and the
    body matches that response's schema."""
    template = next((p for p in document["paths"]
                     if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", p), path)), None)
    assert template is not None, f"no route for {path}"
    responses = document["paths"][template][method.lower()]["responses"]
    assert str(result.status) in responses, f"Response {result.status} not defined in spec"
    schema = responses[str(result.status)]["content"]["application/json"]["schema"]
    OAS31Validator({**schema, "components": document["components"]}).validate(result.body)


def test_api_contract_create_call_valid_request(api, document):
    """TestAPIContract / create call - valid request"""
    buyer = api.register("buyer")
    result = api.post("/calls", {"from_number": SEED_CALLER, "to_number": SEED_TOLL_FREE, "direction": "inbound"},
                      token=buyer["token"])
    assert result.status == 201
    validate_response(document, "POST", "/calls", result)


def test_api_contract_create_call_invalid_phone_number(api, document):
    """TestAPIContract / create call - invalid phone number"""
    buyer = api.register("buyer")
    result = api.post("/calls", {"from_number": "invalid", "to_number": SEED_TOLL_FREE}, token=buyer["token"])
    assert result.status == 400
    validate_response(document, "POST", "/calls", result)  # the error envelope, as documented


def test_api_contract_route_call_valid_request(api, document):
    """TestAPIContract / route call - valid request (a well-formed id of no call: whatever the answer, it is
    one the document declares, in the shape it declares)"""
    buyer = api.register("buyer")
    path = "/calls/550e8400-e29b-41d4-a716-446655440000/route"
    result = api.post(path, token=buyer["token"])
    assert result.status == 404
    validate_response(document, "POST", path, result)

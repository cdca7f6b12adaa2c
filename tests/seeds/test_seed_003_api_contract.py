"""Seed 003, "API Contract Testing" (test/contract/api_contract_test.go): answers are checked against the API's
own OpenAPI document. The seed validates against its hand-written api/openapi.yaml; ours is generated from the
routes and served at GET /api/v1/openapi.json, so the answers are checked against that."""
import re

import pytest
from openapi_schema_validator import OAS31Validator

from tests.seeds.helpers import SEED_CALLER, SEED_TOLL_FREE, funded


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
    """TestAPIContract / route call - valid request (the seed's setup mocks a routing that succeeds: here a funded
    seller's profile matches the call, the call is routed to it, and the answer is the routed call the document
    declares for 200)"""
    buyer = api.register("buyer")
    seller = funded(api, "seller", "20.00")  # the price is held from the seller's balance
    profile = api.post("/bid-profiles", {"criteria": {"geography": {"countries": ["US"]}}, "bid_amount": "5.00",
                                         "destination_number": "+13125552671"}, token=seller["token"])
    assert profile.status == 201, profile.body
    call = api.post("/calls", {"from_number": SEED_CALLER, "to_number": SEED_TOLL_FREE, "direction": "inbound"},
                    token=buyer["token"])
    assert call.status == 201, call.body
    path = f"/calls/{call.data['id']}/route"
    result = api.post(path, token=buyer["token"])
    assert result.status == 200, result.body
    validate_response(document, "POST", path, result)
    routed = result.data
    assert (routed["id"], routed["status"], routed["buyer_id"]) == (call.data["id"], "queued", buyer["user"]["id"])
    assert (routed["seller_id"], routed["profile_id"]) == (seller["user"]["id"], profile.data["id"])
    assert routed["price"] == "5.00" and routed["destination_number"] == "+13125552671"
    money = api.get("/account/balance", token=seller["token"]).data
    assert (money["balance"], money["held"]) == ("15.00", "5.00")  # the price, held until the call ends

"""The OpenAPI document is generated from the routes and is a valid OpenAPI 3.1 document."""
from openapi_spec_validator import validate

from chalicelib.http import ROUTES


def test_document_is_valid_openapi_3_1(api):
    result = api.get("/openapi.json")
    assert result.status == 200
    validate(result.body)
    assert result.body["openapi"] == "3.1.0"


def test_every_route_is_documented_with_its_security(api):
    document = api.get("/openapi.json").body
    for spec in ROUTES:
        operation = document["paths"][spec.path][spec.method.lower()]
        assert ("security" in operation) == bool(spec.roles), spec.path
        assert str(spec.status) in operation["responses"]
        if spec.body is not None:
            schema_ref = next(iter(operation["requestBody"]["content"].values()))["schema"]["$ref"]
            assert schema_ref.endswith(spec.body.__name__)


def test_request_schemas_forbid_unknown_fields_and_name_required_ones(api):
    schemas = api.get("/openapi.json").body["components"]["schemas"]
    register = schemas["RegisterRequest"]
    assert register["additionalProperties"] is False
    assert {"email", "password", "account_type", "accept_terms"} <= set(register["required"])
    assert schemas["BalanceOut"]["properties"]["balance"]["type"] == "string"

"""The OpenAPI document is generated from the routes and is a valid OpenAPI 3.1 document."""
from openapi_spec_validator import validate

from chalicelib.api.http import ROUTES


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
    assert {"email", "password", "accept_terms"} <= set(register["required"])
    assert register["properties"]["account_type"]["default"] == "buyer"  # optional: a buyer unless it says
    assert schemas["BalanceOut"]["properties"]["balance"]["type"] == "string"


def test_health_probes_dynamodb_with_a_read_the_role_may_make(api, monkeypatch):
    from chalicelib.persistence.tables import UserModel

    def denied(*args, **kwargs):  # DescribeTable is not in the functions' IAM policy
        raise AssertionError("AccessDenied: dynamodb:DescribeTable")

    monkeypatch.setattr(UserModel, "exists", classmethod(denied))
    monkeypatch.setattr(UserModel, "describe_table", classmethod(denied))
    healthy = api.get("/health")
    assert healthy.status == 200 and healthy.data["components"]["dynamodb"] == "ok"

    def unreachable(*args, **kwargs):
        raise ConnectionError("no route to DynamoDB")

    monkeypatch.setattr(UserModel, "get", classmethod(unreachable))
    down = api.get("/health")
    assert down.status == 503 and down.error["code"] == "DEGRADED"
    assert [d["field"] for d in down.error["details"]] == ["dynamodb"]

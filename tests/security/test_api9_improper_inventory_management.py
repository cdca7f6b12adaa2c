"""OWASP API9:2023 Improper Inventory Management: the API is exactly what its OpenAPI document says. Every
route of the app (Chalice's route table) is in the document (a HEAD as its GET) and every documented operation
is a route; one version (/api/v1) is served; a method a path does not document is 405 with the error envelope,
a path no route has is 404 with it; there are no debug, test or internal endpoints, the app is not in debug mode, and
an unexpected failure answers 500 without internals."""
from __future__ import annotations

import json
import re

import pytest

from chalicelib.headers import SECURITY_HEADERS
from tests.security.helpers import UNKNOWN
from tests.security.helpers import afternoon, market, quick_password_hashing, recording_api  # noqa: F401 - fixtures
from tests.security.test_api8_security_misconfiguration import server  # noqa: F401 - fixture

PREFIX = "/api/v1"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def document(market):
    answer = market.api.get("/openapi.json")
    assert answer.status == 200
    return answer.body


def documented(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}


def concrete(path: str) -> str:
    path = path.replace("{phone_number}", "%2B12125552671").replace("{state}", "NY")
    return re.sub(r"\{[a-z_]+\}", UNKNOWN, path)


def test_every_route_is_documented_and_every_documented_operation_is_a_route(document):
    from app import app

    # The web console's pages and files, and the API's index (GET /api/v1), are the only routes outside the
    # document: they are not operations of the API.
    console = {"/", "/verify-email", "/reset-password", "/console/{name}", "/console/vendor/{library}/{name}", PREFIX}
    served = {(method, path) for path, methods in app.routes.items() for method in methods if path not in console}
    assert {path for path in app.routes if path in console} == console
    assert all(path.startswith(PREFIX + "/") for _, path in served)  # one version, nothing outside it
    # HEAD is GET without its body (docs/api.md says so once): every GET has it, nothing else does.
    heads = {("HEAD", path) for method, path in documented(document) if method == "GET"}
    assert {(method, path.removeprefix(PREFIX)) for method, path in served} == documented(document) | heads
    assert document["servers"] == [{"url": PREFIX}]


def test_the_document_lists_no_debug_test_or_internal_endpoint(document):
    # POST /webhooks/{id}/test is a user's own act (a webhook.test event to its endpoint), not a test endpoint.
    for path in (p for p in document["paths"] if p != "/webhooks/{endpoint_id}/test"):
        if path == "/config":  # the console's public settings: the WebSocket API's URL, and nothing else
            assert set(document["components"]["schemas"]["ConfigOut"]["properties"]) == {"websocket_url", "api_version"}
            continue
        assert not re.search(r"debug|test|internal|_emulator|simulator|clock|seed|env|config|metrics|admin/sql",
                             path, re.IGNORECASE), path


def test_a_method_a_path_does_not_document_is_405_with_the_envelope(market, document):
    by_path: dict[str, set[str]] = {}
    for method, path in documented(document):
        by_path.setdefault(path, set()).add(method)
    checked = 0
    for path, methods in by_path.items():
        for method in (*METHODS, "TRACE"):
            if method in methods:
                continue
            answer = market.api.call(method, concrete(path))
            assert answer.status == 405, (method, path, answer.status)
            assert answer.body["success"] is False and answer.error["code"] == "METHOD_NOT_ALLOWED", (method, path)
            assert answer.headers["x-request-id"] == answer.error["request_id"]
            checked += 1
    assert checked > 100


UNDOCUMENTED_PATHS = [
    "/api/v1/debug", "/api/v1/admin/debug", "/api/v1/_debug", "/api/v1/console", "/api/v1/metrics", "/api/v1/env",
    "/api/v1/.env", "/api/v1/admin/config", "/api/v1/swagger.json",  # /config and /docs are documented, public
    "/api/v1/_emulator/state", "/api/v1/simulator/calls", "/api/v1/clock", "/api/v1/internal/users",
    "/api/v1/users", "/api/v1/test", "/api/v2/calls", "/api/v0/health", "/api/health", "/health", "/openapi.json",
    "/.git/config", "/api/v1/calls/" + UNKNOWN + "/debug",
]


def test_a_path_no_route_has_is_404_with_the_envelope(server):  # noqa: F811 - the fixture
    for method in ("GET", "POST", "TRACE"):
        for path in UNDOCUMENTED_PATHS:
            server.request(method, path, body=b"{}" if method == "POST" else None,
                           headers={"Content-Type": "application/json"})
            response = server.getresponse()
            body = json.loads(response.read())
            # A method http.server has no handler for (TRACE) is 405 whatever the path: the route is not revealed.
            expected = {404: "ROUTE_NOT_FOUND", **({405: "METHOD_NOT_ALLOWED"} if method == "TRACE" else {})}
            assert response.status in expected, (method, path, response.status)
            assert body["success"] is False and body["error"]["code"] == expected[response.status], (method, path)
            for name, value in SECURITY_HEADERS.items():
                assert response.getheader(name) == value, (path, name)


def test_the_app_is_not_in_debug_mode_in_any_stage():
    from app import app

    assert app.debug is False
    with open(".chalice/config.json") as config:
        chalice = json.load(config)
    for stage, settings in {"": chalice, **chalice["stages"]}.items():
        assert not settings.get("debug"), stage
        assert not set(settings.get("environment_variables", {})) & {"DEBUG", "LOCAL_CLOCK_CONTROL_PORT",
                                                                     "TWILIO_API_BASE_URL", "DYNAMODB_ENDPOINT"}


def test_an_unexpected_failure_is_a_500_envelope_without_internals(market, monkeypatch):
    from chalicelib.services import calls

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /var/task/chalicelib/services/calls.py line 42")

    monkeypatch.setattr(calls, "list_calls", broken)
    buyer = market.user("buyer")
    answer = market.api.get("/calls", token=buyer["token"])
    assert answer.status == 500
    assert answer.error["type"] == "INTERNAL_ERROR" and answer.error["message"] == "An internal error occurred"
    text = json.dumps(answer.body)
    for leak in ("secret internals", "Traceback", "RuntimeError", "/var/task", ".py"):
        assert leak not in text

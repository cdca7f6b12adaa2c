"""OWASP API8:2023 Security Misconfiguration: every answer (a route's, an error Chalice gives itself, the 404 of
a path no route has, API Gateway's own) carries the security headers and a request id; a HEAD answer has no
body, so a kept-alive connection stays in step."""
from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest
from chalice.config import Config

from chalicelib.headers import SECURITY_HEADERS
from local.server import ProductHTTPServer, ProductRequestHandler
from infra import generate
from tests.helpers import PASSWORD


@pytest.fixture
def server(aws):
    """The local server `make run` serves the app with, on a free port, in this process."""
    from chalice.local import LocalDevServer

    from app import app

    dev = LocalDevServer(app, Config(chalice_stage="dev"), "127.0.0.1", 0, handler_cls=ProductRequestHandler,
                         server_cls=ProductHTTPServer)
    thread = threading.Thread(target=dev.serve_forever, daemon=True)
    thread.start()
    connection = http.client.HTTPConnection("127.0.0.1", dev.server.server_address[1], timeout=30)
    yield connection
    connection.close()
    dev.shutdown()
    dev.server.server_close()


def _request(connection, method: str, path: str, body: dict | None = None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection.request(method, f"/api/v1{path}", body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    return response, response.read()


def _secured(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.getheader(name) == value, name
    assert response.getheader("X-Request-Id")


def test_an_unknown_route_is_a_404_envelope_with_the_security_headers(server):
    response, body = _request(server, "GET", "/no/such/route")
    assert response.status == 404
    _secured(response)
    error = json.loads(body)["error"]
    assert error["code"] == "ROUTE_NOT_FOUND" and error["request_id"] == response.getheader("X-Request-Id")


def _read_answer(sock: socket.socket, buffered: bytes) -> tuple[bytes, bytes]:
    """One answer's head (up to the blank line) off a raw connection, and what came after it."""
    while b"\r\n\r\n" not in buffered:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        buffered += chunk
    head, _, rest = buffered.partition(b"\r\n\r\n")
    return head, rest


def test_head_answers_have_no_body_and_the_connection_stays_in_step(server):
    """On one kept-alive connection (raw: http.client drops what a HEAD answer wrongly carries), each HEAD
    answer's head is followed directly by the next answer's status line."""
    host, port = server.host, server.port
    with socket.create_connection((host, port), timeout=30) as sock:
        rest = b""
        for path in ("/profile", "/health", "/no/such/route"):
            sock.sendall(f"HEAD /api/v1{path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head, rest = _read_answer(sock, rest)
            assert head.startswith(b"HTTP/1.1 "), head
            for name in SECURITY_HEADERS:
                assert f"\r\n{name}: ".encode() in head, (path, name)
            assert b"\r\nX-Request-Id: " in head
            sock.sendall(f"GET /api/v1/no/such/route HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head, rest = _read_answer(sock, rest)
            assert head.startswith(b"HTTP/1.1 404 "), (path, head[:80])  # not a stray body
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")))
            while len(rest) < length:
                rest += sock.recv(65536)
            assert json.loads(rest[:length])["success"] is False
            rest = rest[length:]


def test_every_kind_of_answer_carries_the_headers(server):
    registered, body = _request(server, "POST", "/auth/register", {
        "email": "headers@example.com", "password": PASSWORD, "first_name": "Ada", "last_name": "L",
        "account_type": "buyer", "accept_terms": True})
    assert registered.status == 201
    _secured(registered)
    token = json.loads(body)["data"]["tokens"]["access_token"]
    for method, path, status in (("GET", "/profile", 200), ("GET", "/calls/not-a-uuid", 400),
                                 ("DELETE", "/profile", 405), ("GET", "/admin/users", 403)):
        response, _ = _request(server, method, path, token=token)
        assert response.status == status, (method, path)
        _secured(response)
    unauthenticated, _ = _request(server, "GET", "/profile")
    assert unauthenticated.status == 401
    _secured(unauthenticated)


def test_api_gateways_own_answers_carry_them_in_aws():
    responses = generate.gateway_responses()["RestAPI"]["Properties"]["GatewayResponses"]
    assert set(responses) >= {"MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"}
    for response in responses.values():
        assert response["ResponseParameters"]["Headers"] == {name: f"'{value}'" for name, value in SECURITY_HEADERS.items()}
        assert "$context.requestId" in response["ResponseTemplates"]["application/json"]
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == 404

"""Chalice's local HTTP server, answering what API Gateway answers in AWS with our envelope
(infra/ sets the same Gateway Responses): 404 for a path no route has, 405 for methods like TRACE."""
from __future__ import annotations

import json
import uuid
from typing import Any

from chalice.config import Config
from chalice.local import (ChaliceRequestHandler, CustomLocalChalice, ForbiddenError, LocalChalice, LocalDevServer,
                           RouteMatcher, ThreadedHTTPServer)

from chalicelib.domain.errors import DomainError, NotFound, ValidationFailed
from chalicelib.caller import error_body
from chalicelib.headers import REQUEST_ID, SECURITY_HEADERS


class _MethodNotAllowed(ValidationFailed):
    status, default_code = 405, "METHOD_NOT_ALLOWED"


class ProductRequestHandler(ChaliceRequestHandler):
    # Headers and body go out in separate writes: with Nagle's algorithm on, the second waits for the
    # client's delayed ACK (about 40 ms on every answer).
    disable_nagle_algorithm = True

    def _send_error_response(self, error: Any) -> None:
        if isinstance(error, ForbiddenError):  # API Gateway's "Missing Authentication Token": no such route
            self._send_envelope(NotFound("No such endpoint", code="ROUTE_NOT_FOUND"))
        else:
            super()._send_error_response(error)

    def _method_not_allowed(self) -> None:
        self._parse_payload()  # read the body, or it would be taken for the next request on this connection
        self._send_envelope(_MethodNotAllowed("Method not allowed"), {"Allow": self._allowed_methods()})

    def _allowed_methods(self) -> str:
        routes = self.local_gateway._app_object.routes
        try:
            matched = RouteMatcher(list(routes)).match_route(self.path)
        except ValueError:  # no such path
            return ""
        return ", ".join(sorted(routes[matched.route]))

    def __getattr__(self, name: str) -> Any:
        # http.server answers 501 for a method it has no do_<METHOD> for; API Gateway answers 405.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)

    def _send_envelope(self, error: DomainError, headers: dict | None = None) -> None:
        request_id = str(uuid.uuid4())
        body = json.dumps(error_body(error, request_id))
        self._send_http_response(error.status, {**SECURITY_HEADERS, REQUEST_ID: request_id,
                                                "Content-Type": "application/json", **(headers or {})}, body)

    def _send_http_response_with_body(self, code: int, headers: Any, body: Any) -> None:
        if self.command == "HEAD":  # the length a GET would have, and no body: the next answer starts clean
            length = headers.pop("Content-Length", None)  # the app's GET answer's length (the body is gone)
            if length is None:
                length = len(body if isinstance(body, bytes) else body.encode("utf-8"))
            self.send_response(code)
            self.send_header("Content-Length", str(length))
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            self._send_headers(headers)
            return
        super()._send_http_response_with_body(code, headers, body)


class ProductHTTPServer(ThreadedHTTPServer):
    # socketserver's default listen backlog of 5 resets connections when a burst of clients connects at once.
    request_queue_size = 128


def create_server(app: Any, host: str, port: int) -> LocalDevServer:
    # What chalice.local.create_local_server does, with our request handler.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, Config(chalice_stage="dev"), host, port, handler_cls=ProductRequestHandler,
                          server_cls=ProductHTTPServer)

"""The local stand-in for API Gateway's connection management API (`apigatewaymanagementapi`), which the
product's own client code (gateways/websocket.py) calls under `make run` as it calls AWS's:

    POST   /@connections/{id}   body = the message: delivered to the socket     (200; 410 if unknown)
    DELETE /@connections/{id}   the server closes the socket                    (204; 410 if unknown)
    GET    /@connections/{id}   connectedAt, identity                           (200; 410 if unknown)

A stage prefix before /@connections (AWS's endpoint is https://<api>/<stage>) is accepted. 410 answers
in the management API's own error shape, so botocore raises GoneException as it does against AWS.
Signatures are not checked (loopback only).
"""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import unquote

_PATH = re.compile(r"^(?:/[^@][^/]*)?/@connections/(?P<id>[^/?]+)$")


class Sockets(Protocol):
    """What the endpoint delivers to: the local WebSocket server's open connections."""

    def deliver(self, connection_id: str, data: bytes) -> bool: ...

    def close(self, connection_id: str) -> bool: ...

    def info(self, connection_id: str) -> dict | None: ...


class _Handler(BaseHTTPRequestHandler):
    server: "ConnectionsEndpoint"
    protocol_version = "HTTP/1.1"  # keep-alive: botocore reuses its connections
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass

    def _connection_id(self) -> str | None:
        match = _PATH.match(self.path.split("?", 1)[0])
        return unquote(match.group("id")) if match else None

    def _answer(self, status: int, body: dict | None = None) -> None:
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if status == 410:
            self.send_header("x-amzn-ErrorType", "GoneException")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _gone(self) -> None:
        self._answer(410, {"message": None})

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        connection_id = self._connection_id()
        if connection_id is None:
            return self._answer(404, {"message": "Not Found"})
        if not self.server.sockets.deliver(connection_id, data):
            return self._gone()
        self._answer(200)

    def do_DELETE(self) -> None:  # noqa: N802
        connection_id = self._connection_id()
        if connection_id is None:
            return self._answer(404, {"message": "Not Found"})
        if not self.server.sockets.close(connection_id):
            return self._gone()
        self._answer(204)

    def do_GET(self) -> None:  # noqa: N802
        connection_id = self._connection_id()
        info = self.server.sockets.info(connection_id) if connection_id else None
        if info is None:
            return self._gone()
        self._answer(200, info)


class ConnectionsEndpoint(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, host: str, port: int, sockets: Sockets | None = None):
        super().__init__((host, port), _Handler)
        self.sockets = sockets
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, sockets: Sockets | None = None) -> "ConnectionsEndpoint":
        """Serve (the port is bound from construction, so its URL can be configured before)."""
        if sockets is not None:
            self.sockets = sockets
        self._thread = threading.Thread(target=self.serve_forever, name="ws-connections-endpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
        self.server_close()

"""A user's own server in the tests: a threaded HTTP server on the loopback that records every request (its
headers and body) and answers as the test says (a status and a JSON body, or a function of the request). It
stands for a webhook receiver or a seller's RTB bidder."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """`answer(received) -> (status, body bytes)`; by default 200 with `{}`."""

    answer: Callable[[Received], tuple[int, bytes]] = lambda received: (200, b"{}")
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                receiver.received.append(got)
                status, answer = receiver.answer(got)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the exchange stopped waiting (a bidder past its timeout)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def answering(self, status: int, body: Any) -> Receiver:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answer = lambda received: (status, raw)
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""A threaded HTTP server on loopback that an emulator (Twilio's, Stripe's) runs in the background:
`with Emulator() as emulator: emulator.url ...`. A subclass names its request handler and may run more
background threads beside the server (Stripe's webhook deliveries)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackServer:
    handler: type[BaseHTTPRequestHandler]  # finds its emulator as `self.server.emulator`
    thread_name = "loopback-server"

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    def background(self) -> list[threading.Thread]:
        """Threads to run beside the server (not started)."""
        return []

    def before_stop(self) -> None:
        """Tell the background threads to end (called before the server shuts down)."""

    def start(self) -> Self:
        self._server = ThreadingHTTPServer((self._host, self._port), self.handler)
        self._server.daemon_threads = True
        self._server.emulator = self  # type: ignore[attr-defined]
        self._threads = [threading.Thread(target=self._server.serve_forever, name=self.thread_name, daemon=True),
                         *self.background()]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self.before_stop()
            self._server.shutdown()
            self._server.server_close()
            for thread in self._threads:
                thread.join()
            self._server, self._threads = None, []

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"


class EmulatorHandler(BaseHTTPRequestHandler):
    """Every method goes to `answer(method)`; keep-alive, as the SDKs' sessions expect; no log line per request
    (it would drown the test and `make run` output)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body, written apart, wait on delayed ACKs (40 ms)

    def answer(self, method: str) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self.answer("GET")

    def do_POST(self) -> None:
        self.answer("POST")

    def do_PUT(self) -> None:
        self.answer("PUT")

    def do_DELETE(self) -> None:
        self.answer("DELETE")

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status: int, data: bytes, content_type: str | None, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


def serve_until_interrupted(server: LoopbackServer) -> int:
    """An emulator run on its own (`python -m ...`): until Ctrl-C."""
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0

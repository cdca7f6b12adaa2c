"""A clock for `make run` that can be moved forward: real time plus an offset that only grows.

Off unless LOCAL_CLOCK_CONTROL_PORT is set (0 picks a free port). Then the runtime installs it as the
product's clock (chalicelib.clock) and as moto's SQS clock (message delays, visibility timeouts), and
answers on loopback:

    GET  /clock                       {"now": "<ISO time>"}
    POST /clock/advance {"seconds": N} moves every part N seconds on, at once

so an end-to-end test can take an auction past its end, and the delayed closing message falls due
in moto and reaches the handler through the dispatcher, without waiting for (or racing) the wall
clock. Schedules (SCHEDULE_SCALE) keep real time.

Across a restart of `make run` on the same data folder, the offset is kept with the data (local/snapshot.py)
and the clock goes on from real time plus that offset: times the data holds (an auction's end, a message's
delay) were read from this clock, and it does not go back. A runtime started without the clock control
runs on real time (any offset kept is ignored, and kept for the next run that has the control).
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalClock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self._offset)

    def advance(self, seconds: float) -> datetime:
        if not seconds > 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    def resume(self, offset: float) -> None:
        """Go on from the offset an earlier run reached (local/snapshot.py keeps it with the data): the
        product's time and SQS's never go back across a restart, whatever they were moved to."""
        with self._lock:
            self._offset = max(self._offset, float(offset))

    def install(self) -> None:
        """The product's clock, and the one moto's SQS reads for delays and visibility timeouts."""
        from moto.core import utils
        from moto.sqs import models

        from chalicelib import clock

        for name in ("unix_time", "unix_time_millis"):
            if not hasattr(models, name):  # moto changed how SQS reads the time: fail loudly, not silently
                raise RuntimeError(f"moto.sqs.models.{name} is gone: the local clock cannot move SQS's time")
        real_unix_time = utils.unix_time

        def unix_time(dt: datetime | None = None) -> float:
            return real_unix_time(dt) if dt is not None else real_unix_time() + self._offset

        models.unix_time = unix_time
        models.unix_time_millis = lambda dt=None: unix_time(dt) * 1000.0
        clock.set_clock(self.now)


class _Handler(BaseHTTPRequestHandler):
    server: "ClockControl"

    def do_GET(self) -> None:
        if self.path != "/clock":
            return self._answer(404, {"error": "no such path"})
        self._answer(200, {"now": self.server.clock.now().isoformat()})

    def do_POST(self) -> None:
        if self.path != "/clock/advance":
            return self._answer(404, {"error": "no such path"})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            now = self.server.clock.advance(float(body["seconds"]))
        except (ValueError, KeyError, TypeError) as error:
            return self._answer(400, {"error": str(error)})
        self._answer(200, {"now": now.isoformat()})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet, like moto's access log
        pass


class ClockControl(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, clock: LocalClock, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)
        self.clock = clock
        self._thread = threading.Thread(target=self.serve_forever, name="clock-control", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "ClockControl":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join()

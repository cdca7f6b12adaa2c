"""Starts the real `make run` runtime (python -m local.runtime) on free ports."""
from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Sequence

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "E2e!Admin-Passw0rd"
TWILIO_AUTH_TOKEN = "e2e-twilio-auth-token"  # the emulator's, so tests can sign as Twilio does
STARTUP_SECONDS = 60
STOP_SECONDS = 20  # bounds: the runtime stops every part within a few seconds (dispatcher grace: 5 s)
RUNTIME = (sys.executable, "-m", "local.runtime")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Runtime:
    """One `make run` process: its output as it comes, the URLs it printed, and how to stop it."""

    def __init__(self, command: Sequence[str], env: dict[str, str]):
        self.process = subprocess.Popen(list(command), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.output: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("Ready."):
                self._ready.set()

    def wait_ready(self) -> None:
        if not self._ready.wait(STARTUP_SECONDS):
            self.process.kill()
            pytest.fail("the local runtime did not start:\n" + self.tail(40))

    def all_output(self) -> str:
        """Everything it printed, once it has exited."""
        self._reader.join(timeout=STOP_SECONDS)
        return "".join(self.output)

    def printed(self, label: str) -> str:
        """What the runtime printed after `label:` at startup (a URL)."""
        return next(line.split(f"{label}:", 1)[1].strip() for line in self.output if f"  {label}:" in line)

    def tail(self, lines: int) -> str:
        return "".join(self.output[-lines:])

    def stop(self, signum: int = signal.SIGINT) -> int:
        """Send `signum` (SIGINT is what Ctrl-C sends); its exit status, or fail with every thread's stack."""
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)  # the runtime prints every thread's stack
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=2)  # time for the dump to arrive
            pytest.fail(f"the local runtime did not stop on {signal.Signals(signum).name}:\n" + self.tail(120))
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=STOP_SECONDS)


# A test of this process may have pointed Twilio (Stripe) at an emulator of its own: a runtime uses its own.
# And a runtime keeps its data where its test says (DATA_DIR), never where the developer's `make run` does.
NOT_INHERITED = ("JWT_SECRET", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE_URL", "DATA_DIR", "FRESH",
                 "SNAPSHOT_SECONDS", "STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET")


def temporary_data_dir() -> str:
    """A data folder for one runtime (`make run` keeps its data in one: local/data_folder.py), removed when
    the test process ends."""
    path = tempfile.mkdtemp(prefix="callx-run-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def runtime_environment(port: int, **extra: str) -> dict[str, str]:
    """The environment of a runtime on `port`, with a data folder of its own unless `extra` names one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in NOT_INHERITED}
    env.update({"PORT": str(port), "ADMIN_EMAIL": ADMIN_EMAIL, "ADMIN_PASSWORD": ADMIN_PASSWORD,
                "PYTHONUNBUFFERED": "1", **extra})
    env.setdefault("DATA_DIR", temporary_data_dir())
    return env


class Product:
    def __init__(self, runtime: Runtime, base_url: str):
        self.runtime, self.base_url = runtime, base_url
        self.process, self.output = runtime.process, runtime.output
        self._clock_url = runtime.printed("clock control")

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url(path), headers=headers, timeout=30, **kwargs)

    def login(self, email: str, password: str) -> dict:
        response = self.call("POST", "/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def advance_clock(self, seconds: float) -> None:
        """Move the product's time (and SQS's delays) forward: local/clock.py."""
        response = requests.post(f"{self._clock_url}/clock/advance", json={"seconds": seconds}, timeout=30)
        assert response.status_code == 200, response.text


@contextlib.contextmanager
def running_product(**extra: str):
    """A `make run` runtime on free ports, stopped as Ctrl-C stops it; `extra` environment (e.g. DATA_DIR)."""
    port = free_port()
    runtime = Runtime(RUNTIME, runtime_environment(
        port,
        WS_PORT=str(free_port()),  # not PORT + 1, which another runtime of the run may hold
        LOCAL_CLOCK_CONTROL_PORT="0",  # tests move time forward instead of waiting for it
        TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN,
        # Schedules once an hour of real time at the most: no end-to-end test waits for one, and the sweeper
        # must not close the auction that test_exchange_flow proves the delayed SQS message closes.
        SCHEDULE_SCALE="60",
        **extra,
    ))
    try:
        runtime.wait_ready()
        yield Product(runtime, f"http://127.0.0.1:{port}/api/v1")
    finally:
        if runtime.process.poll() is None:
            assert runtime.stop(signal.SIGINT) == 0, runtime.tail(40)  # what Ctrl-C sends


@pytest.fixture(scope="session")
def product():
    """The runtime the end-to-end tests share (one xdist group: tests/conftest.py)."""
    with running_product() as shared:
        yield shared

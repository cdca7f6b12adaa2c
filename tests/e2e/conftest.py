"""Starts the real `make run` runtime (python -m chalicelib.local.runtime) on free ports."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "E2e!Admin-Passw0rd"
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Product:
    def __init__(self, process: subprocess.Popen, base_url: str, output: list[str]):
        self.process, self.base_url, self.output = process, base_url, output

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


@pytest.fixture(scope="session")
def product():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "JWT_SECRET"}
    env.update({"PORT": str(port), "ADMIN_EMAIL": ADMIN_EMAIL, "ADMIN_PASSWORD": ADMIN_PASSWORD,
                "PYTHONUNBUFFERED": "1"})
    process = subprocess.Popen([sys.executable, "-m", "chalicelib.local.runtime"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in process.stdout:
            output.append(line)
            if line.startswith("Ready."):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(STARTUP_SECONDS):
        process.kill()
        pytest.fail("the local runtime did not start:\n" + "".join(output[-40:]))
    yield Product(process, f"http://127.0.0.1:{port}/api/v1", output)
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    try:
        assert process.wait(timeout=20) == 0, "".join(output[-40:])
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)  # the runtime prints every thread's stack
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=2)  # time for the dump to arrive
        pytest.fail("the local runtime did not stop on Ctrl-C:\n" + "".join(output[-120:]))
    finally:
        if process.poll() is None:
            process.kill()

"""A fresh `make run` runtime for the load benchmarks (bench/load.py, bench/websocket_load.py)."""
from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADMIN = ("admin@example.com", "Bench!Admin-Passw0rd")
# Throughput, not the rate limits: one user makes thousands of requests a minute here.
UNLIMITED = ("RATE_LIMIT_PER_MINUTE", "AUTH_RATE_LIMIT_PER_MINUTE", "NUMBER_SEARCH_RATE_LIMIT_PER_MINUTE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_runtime(printed: str) -> tuple[subprocess.Popen, str, str | None]:
    """The runtime, its API's base URL, and the URL it printed after `printed:` (e.g. "websocket")."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("JWT_SECRET", "DATA_DIR", "FRESH")}
    data_dir = tempfile.mkdtemp(prefix="callx-bench-")  # a fresh product, and never the developer's .data/
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    env.update(PORT=str(port), WS_PORT=str(free_port()), ADMIN_EMAIL=ADMIN[0], ADMIN_PASSWORD=ADMIN[1],
               PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING", DATA_DIR=data_dir)
    for name in UNLIMITED:
        env.setdefault(name, "100000000")
    process = subprocess.Popen([sys.executable, "-m", "local.runtime"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url, ready = None, threading.Event()

    def read():
        nonlocal url
        for line in process.stdout:
            if f"{printed}:" in line and url is None:
                url = line.split(f"{printed}:", 1)[1].strip()
            if line.startswith("Ready."):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(90):
        process.kill()
        raise SystemExit("the runtime did not start")
    return process, f"http://127.0.0.1:{port}/api/v1", url

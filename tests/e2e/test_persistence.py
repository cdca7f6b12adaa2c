"""`make run` keeps its data: stopped with Ctrl-C, or killed, and started again on the same data folder, it has
the users, sessions, balances, auctions and queued messages it had (local/snapshot.py, local/data_folder.py).
And Ctrl-C stops it within seconds, WebSocket clients or not."""
from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import connect

from chalicelib.persistence.tables import ALL_MODELS
from local.data_folder import SNAPSHOT
from local.snapshot import read_header
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, running_product
from tests.e2e.test_exchange_flow import auctioned_call, seller_with_profile
from tests.e2e.test_identity_flow import PASSWORD, register, wait_for

pytestmark = pytest.mark.e2e
SNAPSHOT_BOUND_SECONDS = 20  # a bound for a broken snapshotter, not a timing: one comes every second here


def credited_user(product, amount: str) -> dict:
    admin = product.login(ADMIN_EMAIL, ADMIN_PASSWORD)["tokens"]["access_token"]
    user = register(product)
    credited = product.call("POST", f"/admin/users/{user['user']['id']}/credits", token=admin,
                            json={"amount": amount, "reason": "kept across restarts"},
                            headers={"Idempotency-Key": str(uuid.uuid4())})
    assert credited.status_code in (200, 201), credited.text
    return {**user, "admin": admin}


def balance(product, token: str) -> str:
    answer = product.call("GET", "/account/balance", token=token)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["balance"]


@contextlib.contextmanager
def silent_client(ws_url: str, token: str):
    """A WebSocket client that opens its connection and then answers nothing (not even a close)."""
    url = urlsplit(ws_url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as raw:
        key = base64.b64encode(os.urandom(16)).decode()
        raw.sendall(f"GET {url.path}?token={token} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        assert raw.recv(4096).startswith(b"HTTP/1.1 101")
        yield raw


def product_time(product) -> datetime:
    return datetime.fromisoformat(requests.get(f"{product._clock_url}/clock", timeout=30).json()["now"])


def printed_data_line(product) -> str:
    return next(line.strip() for line in product.output if line.startswith("  data:"))


def test_ctrl_c_then_make_run_again_keeps_users_sessions_balances_and_a_delayed_message(tmp_path):
    data_dir = str(tmp_path / "data")
    with running_product(DATA_DIR=data_dir) as first:
        assert printed_data_line(first).startswith("data: started empty")
        buyer = credited_user(first, "12.34")
        token = buyer["tokens"]["access_token"]
        seller = seller_with_profile(first, buyer["admin"], bid="3.00")
        # An auction of a minute: its closing is an SQS message delayed to its end, queued when the runtime stops.
        call_id, auction_id = auctioned_call(first, token, duration=60)
        assert first.call("POST", "/bids", token=seller["token"],
                          json={"auction_id": auction_id, "amount": "3.25"}).status_code == 201
        before = first.call("GET", f"/auctions/{auction_id}", token=token).json()["data"]
        assert before["status"] == "active"
        first.advance_clock(30)  # half way to the auction's end: the clock's offset is kept with the data
        moved_to = product_time(first)
        # Ctrl-C with a WebSocket client connected, and one that never answers a close: both closed as going
        # away, within seconds, no $disconnect failing.
        ws_url = first.runtime.printed("websocket")
        with connect(f"{ws_url}?token={token}") as client, silent_client(ws_url, token):
            started = time.monotonic()
            assert first.runtime.stop(signal.SIGINT) == 0
            stop_seconds = time.monotonic() - started
            with pytest.raises(ConnectionClosedOK) as closed:
                for _ in range(100):  # events published before the stop may come first: then the close
                    client.recv(timeout=5)
        assert closed.value.rcvd.code == 1001, closed.value
    output = first.runtime.all_output()
    assert "Data kept in" in output and output.rstrip().endswith("Stopped.")  # saved, then every part stopped
    assert '"level":"ERROR"' not in output, output[-3000:]
    assert stop_seconds < 5, stop_seconds

    with running_product(DATA_DIR=data_dir) as second:
        resumed = printed_data_line(second)
        assert resumed.startswith("data: resumed ") and f"{len(ALL_MODELS)} tables" in resumed, resumed
        assert "1 queued message" in resumed or "queued messages" in resumed, resumed
        # The session from before the restart is still good (the JWT secret is the data folder's) ...
        assert second.call("GET", "/profile", token=token).json()["data"]["email"] == buyer["email"]
        # ... and the password, the balance and the auction are there.
        again = second.login(buyer["email"], PASSWORD)["tokens"]["access_token"]
        assert balance(second, again) == "12.34"
        after = second.call("GET", f"/auctions/{auction_id}", token=again).json()["data"]
        assert (after["status"], after["bids"]) == ("active", before["bids"])
        # The product's time goes on from where it was moved, not back to real time (local/clock.py) ...
        assert product_time(second) > moved_to
        # ... and the closing message, delayed before the stop, reaches its handler once its time comes.
        second.advance_clock(30)
        closed = wait_for(lambda: (lambda a: a if a["status"] == "completed" else None)(
            second.call("GET", f"/auctions/{auction_id}", token=again).json()["data"]))
        assert closed["winner"]["seller_id"] == seller["user"]["id"] and closed["winner"]["amount"] == "3.25"
        assert second.call("GET", f"/calls/{call_id}", token=again).status_code == 200
        admin_line = next(line for line in second.output if line.startswith("  admin:"))
        assert "exists" in admin_line and ADMIN_PASSWORD not in admin_line


def test_kill_9_after_a_snapshot_keeps_the_write(tmp_path):
    data_dir = tmp_path / "data"
    with running_product(DATA_DIR=str(data_dir), SNAPSHOT_SECONDS="1") as first:
        buyer = credited_user(first, "7.00")
        written_at = time.time()
        # The next snapshot taken after the write holds it (a snapshot is taken with every request shut out).
        wait_for(lambda: (data_dir / SNAPSHOT).exists() and read_header(data_dir / SNAPSHOT)["taken_at"] > written_at,
                 bound_seconds=SNAPSHOT_BOUND_SECONDS)
        first.process.kill()  # SIGKILL: no final snapshot, no goodbye
        first.process.wait(timeout=30)

    with running_product(DATA_DIR=str(data_dir)) as second:
        assert printed_data_line(second).startswith("data: resumed ")
        token = second.login(buyer["email"], PASSWORD)["tokens"]["access_token"]
        assert balance(second, token) == "7.00"
        assert not list(Path(data_dir).glob(".*.tmp"))


"""Requests a second and latency of `make run` (the local server, moto server, dispatcher) at
concurrency 1, 4 and 16, beside moto's own GetItem at the same concurrency. Loopback only, bounded:
each cell sends REQUESTS requests and stops.

    .venv/bin/python bench/load.py
"""
from __future__ import annotations

import signal
import statistics
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from runtime import ADMIN, start_runtime

REQUESTS = 200
LEVELS = (1, 4, 16)
CALL = {"from_number": "+14155552671", "to_number": "+12125552671", "direction": "inbound"}


class Client:
    def __init__(self, base: str):
        self.base, self.local = base, threading.local()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()  # keep-alive, one per thread
        return self.local.session

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {**kwargs.pop("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        return self.session().request(method, self.base + path, headers=headers, timeout=60, **kwargs)


def run(send, concurrency: int) -> tuple[float, float, float]:
    """(requests a second, p50 ms, p99 ms) of REQUESTS calls of send(i) from `concurrency` threads."""
    latencies: list[float] = []

    def one(i: int) -> None:
        started = time.perf_counter()
        send(i)
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(REQUESTS)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return REQUESTS / elapsed, statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def setup(client: Client) -> dict:
    admin = client.call("POST", "/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()["data"]
    admin_token = admin["tokens"]["access_token"]

    def register(kind: str) -> dict:
        body = {"email": f"{kind}-{time.time_ns()}@example.com", "password": "Str0ng!Passw0rd", "first_name": "Load",
                "last_name": "Bench", "company": "Bench", "account_type": kind, "accept_terms": True}
        user = client.call("POST", "/auth/register", json=body).json()["data"]
        client.call("POST", f"/admin/users/{user['user']['id']}/credits", admin_token,
                    json={"amount": "1000.00", "reason": "bench"}, headers={"Idempotency-Key": user["user"]["id"]})
        return {"id": user["user"]["id"], "token": user["tokens"]["access_token"]}

    buyer, seller = register("buyer"), register("seller")
    client.call("POST", "/bid-profiles", seller["token"], json={"bid_amount": "2.00",
                                                               "destination_number": "+13125552671"})
    for _ in range(20):
        client.call("POST", "/calls", buyer["token"], json=CALL)
    auctions = []
    for _ in range(REQUESTS * len(LEVELS)):
        call = client.call("POST", "/calls", buyer["token"], json=CALL).json()["data"]
        auctions.append(client.call("POST", "/auctions", buyer["token"], json={
            "call_id": call["id"], "reserve_price": "1.00", "duration": 900}).json()["data"]["id"])
    return {"buyer": buyer, "seller": seller, "auctions": iter(auctions)}


def main() -> None:
    import boto3

    process, base, aws_url = start_runtime('emulated AWS (moto server)')
    try:
        client = Client(base)
        state = setup(client)
        buyer, seller = state["buyer"]["token"], state["seller"]["token"]
        dynamodb = boto3.client("dynamodb", endpoint_url=aws_url, region_name="us-east-1",
                                aws_access_key_id="local", aws_secret_access_key="local")
        lock = threading.Lock()

        def next_auction() -> str:
            with lock:
                return next(state["auctions"])

        def expect(status: int, response: requests.Response) -> None:
            assert response.status_code == status, response.text

        cells = {
            "GET /health": lambda i: expect(200, client.call("GET", "/health")),
            "GET /calls": lambda i: expect(200, client.call("GET", "/calls?limit=20", buyer)),
            "POST /calls": lambda i: expect(201, client.call("POST", "/calls", buyer, json=CALL)),
            "POST /bids": lambda i: expect(201, client.call("POST", "/bids", seller, json={
                "auction_id": next_auction(), "amount": "1.50"})),
            "moto GetItem": lambda i: dynamodb.get_item(TableName="callx-local-users",
                                                        Key={"user_id": {"S": "bench-missing"}}),
            # The page GET /calls reads, asked of moto directly: moto sorts the whole index per query.
            "moto Query": lambda i: dynamodb.query(
                TableName="callx-local-calls", IndexName="by_owner", Limit=20, ScanIndexForward=False,
                KeyConditionExpression="owner_id = :o", ExpressionAttributeValues={":o": {"S": state["buyer"]["id"]}}),
        }
        print(f"make run on loopback: {REQUESTS} requests per cell (keep-alive, one session per thread)")
        print(f"  {'request':14s}" + "".join(f"  c={c:<2d} req/s   p50 ms   p99 ms" for c in LEVELS))
        for label, send in cells.items():
            row = [run(send, c) for c in LEVELS]
            print(f"  {label:14s}" + "".join(f"  {rps:10.1f} {p50:8.1f} {p99:8.1f}" for rps, p50, p99 in row))
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()

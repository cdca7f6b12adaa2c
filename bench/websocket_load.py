"""The WebSocket API under `make run` (a fresh runtime, real sockets):

1. 1,000 connections open at once, each sends {"action": "ping"} and waits for {"type": "pong"};
2. fan-out latency: an auction with 100 subscribed sellers (and its buyer connected); bids are placed one
   after another, and each bid.placed is timed from the bid's commit to its receipt on each of the 101
   sockets. The commit is inside POST /bids: it lies between the request's start and its answer, so the
   latency is bracketed by receipt - answer (at most the true value) and receipt - start (at least it).

    .venv/bin/python bench/websocket_load.py [--connections 1000] [--subscribers 100] [--bids 30]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import statistics
import sys
import time
import uuid

import requests
from runtime import ADMIN, start_runtime

PASSWORD = "Str0ng!Passw0rd"
CALL = {"from_number": "+14155552671", "to_number": "+12125552671", "direction": "inbound"}
HANDSHAKES_AT_ONCE = 100  # clients opening at the same moment (all of them stay open together)


class Api:
    def __init__(self, base: str):
        self.base, self.session = base, requests.Session()

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.session.request(method, self.base + path, headers=headers, timeout=60, **kwargs)
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json()["data"] if response.text else {}

    def user(self, account_type: str) -> dict:
        body = {"email": f"{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD, "first_name": "Bench",
                "last_name": "User", "company": None, "account_type": account_type, "accept_terms": True}
        data = self.call("POST", "/auth/register", json=body)
        return {"id": data["user"]["id"], "token": data["tokens"]["access_token"]}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def pings(ws_url: str, tokens: list[str], count: int) -> dict:
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
    all_open = asyncio.Event()
    opened: list = []
    round_trips: list[float] = []
    connect_times: list[float] = []

    async def client(i: int) -> bool:
        async with gate:
            started = time.perf_counter()
            ws = await connect(f"{ws_url}?token={tokens[i % len(tokens)]}", open_timeout=120, ping_interval=None,
                               max_queue=None)
            connect_times.append(time.perf_counter() - started)
        opened.append(ws)
        if len(opened) == count:
            all_open.set()
        await all_open.wait()  # every connection is open before any pings: 1,000 concurrent connections
        started = time.perf_counter()
        await ws.send('{"action": "ping"}')
        answer = json.loads(await asyncio.wait_for(ws.recv(), 120))
        round_trips.append(time.perf_counter() - started)
        return answer == {"type": "pong"}

    started = time.perf_counter()
    answers = await asyncio.gather(*(client(i) for i in range(count)))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(ws.close() for ws in opened))
    return {"connections": count, "pongs": sum(answers), "seconds": elapsed,
            "connect_p50_ms": 1000 * statistics.median(connect_times), "connect_p99_ms": 1000 * percentile(connect_times, 0.99),
            "pong_p50_ms": 1000 * statistics.median(round_trips), "pong_p99_ms": 1000 * percentile(round_trips, 0.99)}


async def fan_out(api: Api, ws_url: str, admin: str, subscribers: int, bids: int) -> dict:
    from websockets.asyncio.client import connect

    buyer = api.user("buyer")
    api.call("POST", f"/admin/users/{buyer['id']}/credits", token=admin, json={"amount": "10.00", "reason": "bench"})
    bidders = [api.user("seller") for _ in range(2)]
    for bidder in bidders:
        api.call("POST", f"/admin/users/{bidder['id']}/credits", token=admin, json={"amount": "100.00", "reason": "b"})
        api.call("POST", "/bid-profiles", token=bidder["token"], json={
            "criteria": {"geography": {"countries": ["US"]}}, "bid_amount": "1.00", "destination_number": "+13125552671"})
    watchers = [api.user("seller") for _ in range(subscribers)]
    call = api.call("POST", "/calls", token=buyer["token"], json=CALL)
    auction = api.call("POST", "/auctions", token=buyer["token"],
                       json={"call_id": call["id"], "reserve_price": "1.00", "duration": 900})

    received: dict[str, list[float]] = {}  # amount -> receipt times, one per socket
    everyone = asyncio.Event()
    expected = subscribers + 1

    async def listen(token: str, subscribe: bool, ready: asyncio.Event) -> None:
        async with connect(f"{ws_url}?token={token}", open_timeout=60, ping_interval=None) as ws:
            if subscribe:
                await ws.send(json.dumps({"action": "subscribe", "auction_id": auction["id"]}))
                while json.loads(await ws.recv()).get("type") != "subscribed":
                    pass
            ready.set()
            async for text in ws:
                now = time.perf_counter()
                event = json.loads(text)
                if event.get("type") == "bid.placed":
                    received.setdefault(event["data"]["amount"], []).append(now)
                    if len(received[event["data"]["amount"]]) == expected:
                        everyone.set()

    readies = [asyncio.Event() for _ in range(expected)]
    tasks = [asyncio.create_task(listen(buyer["token"], False, readies[0]))]
    tasks += [asyncio.create_task(listen(w["token"], True, ready)) for w, ready in zip(watchers, readies[1:])]
    for ready in readies:
        await asyncio.wait_for(ready.wait(), 120)

    after_answer: list[float] = []
    after_start: list[float] = []
    for i in range(bids):
        amount = f"{2 + i * 0.25:.2f}"
        everyone.clear()
        started = time.perf_counter()
        await asyncio.to_thread(api.call, "POST", "/bids", token=bidders[i % 2]["token"],
                                json={"auction_id": auction["id"], "amount": amount})
        answered = time.perf_counter()
        await asyncio.wait_for(everyone.wait(), 60)
        after_answer += [t - answered for t in received[amount]]
        after_start += [t - started for t in received[amount]]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"recipients": expected, "bids": bids, "deliveries": len(after_answer),
            "after_answer_p50_ms": 1000 * statistics.median(after_answer),
            "after_answer_p99_ms": 1000 * percentile(after_answer, 0.99),
            "after_start_p50_ms": 1000 * statistics.median(after_start),
            "after_start_p99_ms": 1000 * percentile(after_start, 0.99)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--users", type=int, default=100, help="the connections are spread over this many users")
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--bids", type=int, default=30)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * args.connections + 256)), hard))
    process, base, ws_url = start_runtime('websocket')
    try:
        api = Api(base)
        admin = api.call("POST", "/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]})["tokens"]["access_token"]
        tokens = [api.user("seller")["token"] for _ in range(args.users)]
        result = asyncio.run(pings(ws_url, tokens, args.connections))
        print(f"{result['connections']} concurrent connections of {args.users} users: {result['pongs']} answered pong "
              f"({result['seconds']:.1f} s in all); handshake ($connect) p50 {result['connect_p50_ms']:.1f} ms "
              f"p99 {result['connect_p99_ms']:.1f} ms ({HANDSHAKES_AT_ONCE} at a time); ping -> pong with all open "
              f"p50 {result['pong_p50_ms']:.1f} ms p99 {result['pong_p99_ms']:.1f} ms")
        result = asyncio.run(fan_out(api, ws_url, admin, args.subscribers, args.bids))
        print(f"bid.placed fan-out to {result['recipients']} sockets (the buyer and {args.subscribers} subscribed "
              f"sellers), {result['bids']} bids, {result['deliveries']} deliveries: commit -> receipt between "
              f"p50 {result['after_answer_p50_ms']:.1f}-{result['after_start_p50_ms']:.1f} ms and "
              f"p99 {result['after_answer_p99_ms']:.1f}-{result['after_start_p99_ms']:.1f} ms "
              f"(after the bid's answer - after its request started)")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())

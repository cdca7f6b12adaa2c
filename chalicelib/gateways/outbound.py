"""Requests to our users' own servers (webhook endpoints, sellers' RTB bidders): one httpx client per process
(a warm Lambda reuses its connections), a small connection pool, a timeout on every request, no redirects
(a redirect could lead past the URL rule of domain/urls.py, which the services check before sending), no
proxy from the environment, and an answer read up to MAX_ANSWER_BYTES only. httpx is imported with the first
request, not at cold start."""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    import httpx

MAX_ANSWER_BYTES = 16 * 1024
MAX_CONNECTIONS = 20  # per process: pings of one routing go out at once, a few dozen at most
PARALLEL = 16  # requests sent at once by `post_all`
USER_AGENT = "call-exchange/1"
TIMEOUT, ERROR = "timeout", "error"


@dataclass(frozen=True)
class Sent:
    """What became of one request: the answer's status and body, or why there is none (timeout, error)."""

    status: int | None
    body: bytes
    elapsed_ms: int
    failure: str | None = None  # TIMEOUT or ERROR: no answer

    @property
    def ok(self) -> bool:
        return self.failure is None and self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]
    timeout_seconds: float


@functools.cache
def client() -> httpx.Client:
    import httpx

    return httpx.Client(limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=10,
                                            keepalive_expiry=30.0),
                        follow_redirects=False, trust_env=False, headers={"User-Agent": USER_AGENT})


@functools.cache
def _pool() -> ThreadPoolExecutor:
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="outbound")


def post(request: Request) -> Sent:
    """POST the body as JSON; never raises for what the other side does (no answer, a bad one)."""
    import httpx

    started = time.perf_counter()
    try:
        with client().stream("POST", request.url, content=request.body, timeout=request.timeout_seconds,
                             headers={"Content-Type": "application/json", **request.headers}) as response:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    return Sent(response.status_code, b"", _ms(started), ERROR)  # too large to be an answer
            return Sent(response.status_code, body, _ms(started))
    except httpx.TimeoutException:
        return Sent(None, b"", _ms(started), TIMEOUT)
    except (httpx.HTTPError, OSError, ValueError):
        return Sent(None, b"", _ms(started), ERROR)


def post_all(requests: list[Request]) -> list[Sent]:
    """Every request at once; waits no longer than the longest timeout: one not answered by its own timeout
    is a TIMEOUT (its thread finishes in the background, bounded by the same timeout)."""
    if not requests:
        return []
    from concurrent.futures import wait

    started = time.perf_counter()
    futures = [_pool().submit(post, request) for request in requests]
    wait(futures, timeout=max(request.timeout_seconds for request in requests))
    results = []
    for request, future in zip(requests, futures):
        sent = future.result() if future.done() else Sent(None, b"", _ms(started), TIMEOUT)
        if sent.failure is None and sent.elapsed_ms > request.timeout_seconds * 1000:
            sent = Sent(None, b"", sent.elapsed_ms, TIMEOUT)  # a late answer is no answer
        results.append(sent)
    return results


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)

"""The crash test's harness: the real `make run` runtime on one data folder, killed with SIGKILL and started
again (same ports), an HTTP client that retries as a client would, and a record of what was acknowledged
(to tell a write lost to a kill from one lost for no reason).

A kill loses what changed after the last snapshot (local/snapshot.py): a write acknowledged before the
snapshot that survived the kill must be there after the restart; one acknowledged after it may be gone.
Every acknowledgment is stamped with the runtime that answered it (the one running when the request was
sent: no two runtimes ever run at once) and the time it came, and every kill with the `taken_at` of the
snapshot it left. A write found missing is explained when it was acknowledged after that snapshot."""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import requests

from local.data_folder import SNAPSHOT
from local.snapshot import read_header
from tests.e2e.conftest import RUNTIME, TWILIO_AUTH_TOKEN, Runtime, free_port, runtime_environment

START_SECONDS = 45  # a bound for a broken start, not a timing: a start takes 3 to 8 s on this machine
REQUEST_TIMEOUT = 20  # one HTTP request (a simulated call plays its whole call in one)
REQUEST_DEADLINE = 40  # one request, retried through a restart
STOPPING_DEADLINE = 8  # ... once the workload is told to stop: an actor finishes its job soon
RETRY_PAUSE = 0.15


@dataclass
class Life:
    """One runtime: when it was spawned, when it was killed, and the snapshot the kill left."""
    index: int
    spawned_at: float
    ready_at: float = 0.0
    killed_at: float | None = None
    snapshot_taken_at: float | None = None  # the snapshot the next start resumes from


class ChaosRuntime:
    """`python -m local.runtime` on a data folder of its own, started again on the same ports after each kill
    (new ones only if a port cannot be had again: the client reads the URLs from here every time)."""

    def __init__(self, data_dir: Path, schedule_scale: str, log: Callable[[str], None]):
        self.data_dir = Path(data_dir)
        self.schedule_scale = schedule_scale
        self.log = log
        self._ports = self._new_ports()
        self.lives: list[Life] = []
        self.runtime: Runtime | None = None
        self.up = threading.Event()
        self.api = self.ws = self.emulator = self.clock = ""
        self.outputs: list[str] = []  # every runtime's output, once it ended
        self.port_changes = 0

    @staticmethod
    def _new_ports() -> dict[str, int]:
        return {name: free_port() for name in ("api", "ws", "twilio", "clock")}

    def _environment(self) -> dict[str, str]:
        return runtime_environment(
            self._ports["api"], DATA_DIR=str(self.data_dir), WS_PORT=str(self._ports["ws"]),
            TWILIO_EMULATOR_PORT=str(self._ports["twilio"]), LOCAL_CLOCK_CONTROL_PORT=str(self._ports["clock"]),
            TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN, SCHEDULE_SCALE=self.schedule_scale)

    def start(self) -> None:
        for attempt in range(3):
            life = Life(len(self.lives), time.time())
            runtime = Runtime(RUNTIME, self._environment())
            deadline = time.monotonic() + START_SECONDS
            while time.monotonic() < deadline and not runtime._ready.wait(0.1):
                if runtime.process.poll() is not None:
                    break
            if runtime._ready.is_set():
                life.ready_at = time.time()
                self.lives.append(life)
                self.runtime = runtime
                self.api = f"http://127.0.0.1:{self._ports['api']}/api/v1"
                self.ws = runtime.printed("websocket")
                self.emulator = runtime.printed("Twilio emulator")
                self.clock = runtime.printed("clock control")
                self.up.set()
                self.log(f"runtime {life.index} ready in {life.ready_at - life.spawned_at:.1f} s "
                         f"({next(line.strip() for line in runtime.output if line.startswith('  data:'))})")
                return
            if runtime.process.poll() is None:
                runtime.process.kill()
            runtime.process.wait(timeout=30)
            self.outputs.append(runtime.all_output())
            # A port taken by another program meanwhile: new ports (numbers bought before keep the old voice URL).
            self.log(f"runtime did not start (attempt {attempt + 1}):\n{runtime.tail(15)}")
            self._ports = self._new_ports()
            self.port_changes += 1
        raise AssertionError("the runtime did not start again:\n" + self.outputs[-1][-3000:])

    def kill(self) -> Life:
        """SIGKILL: no last snapshot, no goodbye. The snapshot it leaves is the one the next start reads."""
        assert self.runtime is not None
        self.up.clear()
        life = self.lives[-1]
        self.runtime.process.kill()
        life.killed_at = time.time()
        self.runtime.process.wait(timeout=30)
        self.outputs.append(self.runtime.all_output())
        snapshot = self.data_dir / SNAPSHOT
        life.snapshot_taken_at = read_header(snapshot)["taken_at"] if snapshot.exists() else None
        return life

    def stop(self) -> int:
        """Ctrl-C: the last snapshot, every part stopped; the exit status."""
        assert self.runtime is not None
        self.up.clear()
        status = self.runtime.stop(signal.SIGINT)
        self.outputs.append(self.runtime.all_output())
        return status

    def life_at(self, moment: float) -> int:
        """The runtime that was running (or the last one started) at `moment`."""
        index = 0
        for life in self.lives:
            if life.spawned_at <= moment:
                index = life.index
        return index

    def lost_in_window(self, life_index: int, acknowledged_at: float) -> str | None:
        """Why a write that runtime `life_index` acknowledged at `acknowledged_at` may be gone (None: it may not)."""
        if life_index >= len(self.lives):
            return None
        life = self.lives[life_index]
        if life.killed_at is None:
            return None  # never killed: nothing it acknowledged may be lost
        taken = life.snapshot_taken_at
        if taken is None or acknowledged_at > taken:
            return f"acknowledged by runtime {life_index} after its last snapshot, then killed"
        return None

    def age_at_kill(self, life_index: int, moment: float) -> float:
        """How long before its runtime's kill something happened (a write lost to that kill)."""
        killed = self.lives[life_index].killed_at
        return round(killed - moment, 2) if killed is not None else 0.0

    def error_lines(self) -> list[str]:
        """The ERROR log lines of every runtime that has ended."""
        return [line for output in self.outputs for line in output.splitlines() if '"level":"ERROR"' in line]


@dataclass
class Ack:
    kind: str
    key: str
    life: int  # the runtime that answered
    sent_at: float
    acked_at: float
    detail: Any = None


@dataclass
class Stats:
    counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    acks: dict[tuple[str, str], Ack] = field(default_factory=dict)
    lost: list[tuple[Ack, str]] = field(default_factory=list)  # (the ack, why it may be lost)
    lost_ages: list[float] = field(default_factory=list)  # seconds from each lost write's ack to its kill
    unexplained: list[str] = field(default_factory=list)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def ack(self, runtime: ChaosRuntime, kind: str, key: str, answer: requests.Response, detail: Any = None) -> Ack:
        """`answer` acknowledged a write: the runtime that answered it is the one running when it was sent (the
        attempt that got it: Api.request may have tried it on an earlier runtime first)."""
        acked = Ack(kind, key, runtime.life_at(answer.sent_at), answer.sent_at, time.time(), detail)
        with self.lock:
            self.acks[(kind, key)] = acked
        return acked

    def missing(self, runtime: ChaosRuntime, kind: str, key: str, what: str) -> None:
        """An acknowledged write is gone: explained by a kill after it, or a finding."""
        with self.lock:
            acked = self.acks.get((kind, key))
        if acked is None:
            return
        why = runtime.lost_in_window(acked.life, acked.acked_at)
        with self.lock:
            if why:
                self.lost.append((acked, why))
                self.lost_ages.append(runtime.age_at_kill(acked.life, acked.acked_at))
                self.counts[f"lost to a kill: {kind}"] += 1
            else:
                life = runtime.lives[acked.life] if acked.life < len(runtime.lives) else None
                self.unexplained.append(
                    f"{what}: {kind} {key} acknowledged by runtime {acked.life} at {acked.acked_at:.3f}, "
                    f"its snapshot at kill: {life.snapshot_taken_at if life else None}, killed at "
                    f"{life.killed_at if life else None}")


class Api:
    """HTTP as a client does it: a connection error or a 5xx is tried again (through a restart, within a
    deadline), an expired or lost session is logged in again (`relogin`), 429 RATE_LIMITED waits."""

    def __init__(self, runtime: ChaosRuntime, stats: Stats, stop_all: threading.Event):
        self.runtime, self.stats, self.stop_all = runtime, stats, stop_all

    def request(self, method: str, path: str, token: Callable[[], str | None] | str | None = None,
                relogin: Callable[[str | None], None] | None = None, deadline: float = REQUEST_DEADLINE,
                url: str | None = None, **kwargs) -> requests.Response | None:
        """The answer (2xx, or a 4xx that is not about the session), or None when the deadline passed."""
        ends = time.monotonic() + (min(deadline, STOPPING_DEADLINE) if self.stop_all.is_set() else deadline)
        relogins = 0
        headers = dict(kwargs.pop("headers", {}))
        while time.monotonic() < ends:
            if not self.runtime.up.is_set():
                self.runtime.up.wait(min(1.0, max(0.0, ends - time.monotonic())))
                continue
            bearer = token() if callable(token) else token
            if bearer is None and callable(token) and relogin and relogins < 3:  # not signed in yet
                relogins += 1
                relogin(None)
                continue
            if bearer:
                headers["Authorization"] = f"Bearer {bearer}"
            target = url(self.runtime) if callable(url) else (url or self.runtime.api) + path
            self.stats.add("requests")
            attempt_at = time.time()
            try:
                response = requests.request(method, target, headers=headers, timeout=REQUEST_TIMEOUT, **kwargs)
                response.sent_at = attempt_at  # the attempt answered: its runtime is the one that wrote
            except requests.RequestException:  # refused, reset, timed out, or the answer cut off by a kill
                self.stats.add("connection errors (retried)")
                time.sleep(RETRY_PAUSE)
                continue
            status = response.status_code
            self.stats.add(f"{status // 100}xx")
            if status >= 500:
                self.stats.add(f"5xx (retried): {method} {_shape(path)} {status}")
                time.sleep(RETRY_PAUSE)
                continue
            if status == 429 and _code(response) == "RATE_LIMITED":
                time.sleep(0.5)
                continue
            if status == 401 and bearer and relogin and relogins < 3:
                relogins += 1
                self.stats.add(f"sessions renewed (401 {_code(response)})")
                relogin(bearer)
                continue
            return response
        self.stats.add(f"gave up: {method} {_shape(path)}")
        return None


def _code(response: requests.Response) -> str | None:
    with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
        return response.json()["error"]["code"]
    return None


def code_of(response: requests.Response | None) -> str | None:
    return None if response is None else _code(response)


def _shape(path: str) -> str:
    """A path with its ids as {id}, for counting."""
    parts = [("{id}" if len(part) >= 32 or part.startswith("+") else part) for part in path.split("?")[0].split("/")]
    return "/".join(parts)


def wait_until(check: Callable[[], Any], seconds: float, pause: float = 0.2) -> Any:
    """`check()` until it answers something true, for at most `seconds`; its last answer."""
    ends = time.monotonic() + seconds
    while True:
        answer = check()
        if answer or time.monotonic() >= ends:
            return answer
        time.sleep(pause)

"""The crash test's workload: buyers, sellers and an admin using the product as clients do, and one WebSocket
client per buyer and seller recording every event it gets.

Each actor reads before it acts again: a request that failed (a connection error, a 5xx) is tried again,
and a step whose answer is a 4xx because it already happened (or because the product moved on) is taken as
what the call now says. After each restart an actor checks what it set up (its session, its welcome credit,
its bid profile, its number) and puts back what a kill took. Every loop has a count or a deadline."""
from __future__ import annotations

import json
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

import requests
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from tests.chaos.harness import Api, ChaosRuntime, Stats, code_of, wait_until
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

PASSWORD = "Str0ng!Passw0rd"
CALLERS = ("+14155552671", "+14155550123", "+16505551234", "+15105559876", "+12135550199")  # California
ENDED = {"completed", "failed", "canceled", "no_answer", "busy", "expired"}
UNDELIVERED_ENDINGS = ("failed", "canceled", "no_answer", "busy")
ORDER_SECONDS = 25  # a number order bought in the background, through a restart: a bound, not a timing
MAX_ABANDONED = 3  # reported calls a buyer routes and never ends (10 may be open at once)
JOB_STEPS = 12  # steps that drive one call: each reads the call (or takes an answer's) and moves it once


def money(value: str | None) -> Decimal:
    return Decimal(value or "0")


class User:
    """An account and its session. A session or a user lost to a kill is found again: logged in, or
    registered again (a new id: what was set up for the old one is set up again)."""

    def __init__(self, name: str, account_type: str, api: Api, stats: Stats, runtime: ChaosRuntime):
        self.name, self.account_type = name, account_type
        self.email = f"chaos-{name}-{uuid.uuid4().hex[:8]}@example.com"
        self.api, self.stats, self.runtime = api, stats, runtime
        self.lock = threading.RLock()
        self.user_id: str | None = None
        self.access: str | None = None
        self.identities: list[str] = []  # every id this email has had, the current last
        self.generation = 0  # moves when the user had to be registered again

    def token(self) -> str | None:
        return self.access

    def session(self) -> bool:
        with self.lock:
            return bool(self.access) or self._sign_in(login_first=bool(self.user_id))

    def relogin(self, failed: str | None) -> None:
        """A new session for one that failed (the old token is used until the new one is there)."""
        with self.lock:
            if self.access != failed:
                return  # another thread renewed it already
            self._sign_in(login_first=bool(self.user_id))

    def current(self) -> tuple[str | None, str | None]:
        with self.lock:
            return self.user_id, self.access

    def _sign_in(self, login_first: bool) -> bool:
        for _ in range(4):
            if login_first:
                answer = self.api.request("POST", "/auth/login", json={"email": self.email, "password": PASSWORD})
                if answer is None:
                    return False
                if answer.status_code == 200:
                    self._take(answer, registered=False)
                    return True
                if answer.status_code == 401 and self.user_id:  # its registration was lost to a kill
                    self.stats.missing(self.runtime, "registration", self.email, "a user could not log in")
            answer = self.api.request("POST", "/auth/register", json={
                "email": self.email, "password": PASSWORD, "first_name": self.name, "last_name": "Chaos",
                "company": "Chaos Ltd", "account_type": self.account_type, "accept_terms": True})
            if answer is None:
                return False
            if answer.status_code == 201:
                self._take(answer, registered=True)
                return True
            login_first = code_of(answer) == "EMAIL_EXISTS"  # registered before its answer was lost
            if not login_first:
                raise AssertionError(f"registering {self.email}: {answer.status_code} {answer.text}")
        return False

    def _take(self, answer, registered: bool) -> None:
        data = answer.json()["data"]
        user_id = data["user"]["id"]
        if registered:
            self.stats.ack(self.runtime, "registration", self.email, answer, user_id)
            self.stats.add("registrations")
        if user_id != self.user_id:
            if self.user_id is not None:
                self.generation += 1
            self.identities.append(user_id)
        self.user_id, self.access = user_id, data["tokens"]["access_token"]

    def call(self, method: str, path: str, **kwargs):
        return self.api.request(method, path, token=self.token, relogin=self.relogin, **kwargs)


@dataclass
class Credit:
    user: User
    user_id: str
    key: str
    amount: str
    transaction_id: str


class Admin(User):
    """The admin: credits (each with its Idempotency-Key, the same key on every retry), credit limits, and
    the books read while everything moves."""

    def __init__(self, api: Api, stats: Stats, runtime: ChaosRuntime):
        super().__init__("admin", "admin", api, stats, runtime)
        self.email = ADMIN_EMAIL
        self.credits: dict[tuple[str, str], Credit] = {}
        self.credits_lock = threading.Lock()
        self.books_read: list[dict] = []

    def _sign_in(self, login_first: bool) -> bool:
        answer = self.api.request("POST", "/auth/login", json={"email": self.email, "password": ADMIN_PASSWORD})
        if answer is None or answer.status_code != 200:
            return False
        data = answer.json()["data"]
        self.user_id, self.access = data["user"]["id"], data["tokens"]["access_token"]
        return True

    def credit(self, user: User, key: str, amount: str) -> bool:
        """Credit `user` (its current id) once under `key`; a credit acknowledged before and since lost to a
        kill is applied again (a new transaction), and said."""
        user_id = user.user_id
        if user_id is None or not self.session():
            return False
        answer = self.call("POST", f"/admin/users/{user_id}/credits", headers={"Idempotency-Key": key},
                           json={"amount": amount, "reason": f"chaos {key}"})
        if answer is None or answer.status_code != 201:
            self.stats.add(f"credits refused: {None if answer is None else answer.status_code} {code_of(answer)}")
            return False
        transaction = answer.json()["data"]["transaction_id"]
        with self.credits_lock:
            known = self.credits.get((user_id, key))
            if known is not None and known.transaction_id == transaction:
                self.stats.add("credits replayed (same transaction)")
                return True
            if known is not None:
                self.stats.missing(self.runtime, "credit", f"{user_id}:{key}", "a credit's transaction changed")
            self.credits[(user_id, key)] = Credit(user, user_id, key, amount, transaction)
        self.stats.ack(self.runtime, "credit", f"{user_id}:{key}", answer, transaction)
        self.stats.add("credits applied")
        return True

    def read_books(self) -> dict | None:
        if not self.session():
            return None
        answer = self.call("GET", "/admin/ledger")
        if answer is None or answer.status_code != 200:
            return None
        books = answer.json()["data"]
        self.books_read.append(books)
        self.stats.add("ledger reads")
        if not books["balanced"]:
            self.stats.unexplained.append(f"GET /admin/ledger unbalanced while the workload ran: {books}")
        if books["snapshot"] and not books["holds_match"]:
            self.stats.add("ledger reads with holds_match false (snapshot true) while money moved")
        return books

    def run(self, everyone: list[User], rng: random.Random, stop: threading.Event, ends: float) -> None:
        """Top-up credits to anyone, now and then the books, until told to stop."""
        count = 0
        while not stop.is_set() and time.monotonic() < ends:
            count += 1
            if count % 6 == 0:
                self.read_books()
                continue
            target = rng.choice(everyone)
            if target.user_id is not None:
                self.credit(target, f"top-up-{count}", f"{rng.randint(1, 8)}.{rng.choice(['00', '25', '50'])}")
            stop.wait(rng.uniform(0.05, 0.3))


class Seller(User):
    def __init__(self, index: int, api: Api, stats: Stats, runtime: ChaosRuntime, admin: Admin, funds: str,
                 bid: str):
        super().__init__(f"seller{index}", "seller", api, stats, runtime)
        self.admin, self.funds, self.bid = admin, funds, bid
        self.destination = f"+1312555{1000 + index:04d}"
        self.ready_for: tuple[int, int] | None = None
        self.setup_lock = threading.Lock()
        self.profile_id: str | None = None

    def ensure(self) -> bool:
        """Signed in, credited, with its bid profile: checked once per runtime (after a restart, again)."""
        with self.setup_lock:
            state = (len(self.runtime.lives), self.generation)
            if self.ready_for == state:
                return True
            if not self.session() or not self.admin.credit(self, "welcome", self.funds):
                return False
            listed = self.call("GET", "/bid-profiles?limit=20")
            if listed is None or listed.status_code != 200:
                return False
            active = [p for p in listed.json()["data"]
                      if p.get("active") and p.get("destination_number") == self.destination]
            if not active:
                if self.profile_id is not None:
                    self.stats.missing(self.runtime, "bid profile", self.profile_id, "a bid profile is gone")
                created = self.call("POST", "/bid-profiles", json={
                    "criteria": {"geography": {"countries": ["US"], "states": ["CA"]}, "call_type": ["sales"],
                                 "max_budget": "500.00"},
                    "bid_amount": self.bid, "destination_number": self.destination, "active": True})
                if created is None or created.status_code != 201:
                    return False
                self.profile_id = created.json()["data"]["id"]
                self.stats.ack(self.runtime, "bid profile", self.profile_id, created)
                self.stats.add("bid profiles created")
            else:
                self.profile_id = active[0]["id"]
            self.ready_for = (len(self.runtime.lives), self.generation)
            return True

    def run(self, stop: threading.Event, ends: float) -> None:
        """Set up, and after every restart check it again (a client whose connection was cut reads its state)."""
        seen = -1
        while not stop.is_set() and time.monotonic() < ends:
            if len(self.runtime.lives) != seen and self.runtime.up.is_set():
                if self.ensure():
                    seen = len(self.runtime.lives)
            stop.wait(0.2)


class Buyer(User):
    def __init__(self, index: int, api: Api, stats: Stats, runtime: ChaosRuntime, admin: Admin,
                 sellers: list[Seller], rng: random.Random, credit_limit: str | None):
        super().__init__(f"buyer{index}", "buyer", api, stats, runtime)
        self.admin, self.sellers, self.rng, self.credit_limit = admin, sellers, rng, credit_limit
        self.area_code = ("415", "628", "510", "650")[index % 4]
        self.ready_for: tuple[int, int] | None = None
        self.number: str | None = None
        self.abandoned = 0
        self.calls: dict[str, str] = {}  # call id -> how the job left it
        self.stopping = api.stop_all

    # set up

    def ensure(self) -> bool:
        state = (len(self.runtime.lives), self.generation)
        if self.ready_for == state:
            return True
        if not self.session() or not self.admin.credit(self, "welcome", "20.00"):
            return False
        if self.credit_limit and self.admin.session():
            limited = self.admin.call("PUT", f"/admin/users/{self.user_id}", json={"credit_limit": self.credit_limit})
            if limited is None or limited.status_code != 200:
                return False
        if not self.ensure_number():
            return False
        self.ready_for = (len(self.runtime.lives), self.generation)
        return True

    def ensure_number(self) -> bool:
        """An exchange-routed number bought in the store (an order lost to a kill is placed again)."""
        for _ in range(4):
            if self.stopping.is_set():
                return False
            listed = self.call("GET", "/numbers?status=ACTIVE&limit=20")
            if listed is None or listed.status_code != 200:
                return False
            exchange = [n for n in listed.json()["data"] if n["routing"] == "exchange"]
            if exchange:
                self.number = exchange[0]["phone_number"]
                return True
            if self.number is not None:
                self.stats.missing(self.runtime, "number", self.number, "a bought number is gone")
                self.number = None
            orders = self.call("GET", "/orders?limit=10")
            if orders is None or orders.status_code != 200:
                return False
            pending = [o["order_id"] for o in orders.json()["data"] if o["status"] == "PENDING"]
            if not pending:
                found = self.call("GET", f"/numbers/search?area_code={self.area_code}&limit=20")
                if found is None or found.status_code != 200 or not found.json()["data"]:
                    return False
                phone = self.rng.choice(found.json()["data"])["phone_number"]
                placed = self.call("POST", "/numbers/purchase", json={"numbers": [{
                    "phone_number": phone, "friendly_name": "Chaos line",
                    "configuration": {"routing": "exchange", "call_type": "sales"}}]})
                if placed is None or placed.status_code != 201:
                    self.stats.add(f"purchases refused: {None if placed is None else placed.status_code} "
                                   f"{code_of(placed)}")
                    continue
                self.stats.add("number orders placed")
                pending = [placed.json()["data"]["order_id"]]
            for order_id in pending:
                def settled(order_id=order_id):
                    answer = self.call("GET", f"/orders/{order_id}")
                    return answer is not None and (answer.status_code == 404 or
                                                   answer.json()["data"]["status"] != "PENDING")
                wait_until(lambda: settled() or self.stopping.is_set(), ORDER_SECONDS, pause=0.25)
            listed = self.call("GET", "/numbers?status=ACTIVE&limit=20")
            if listed is not None and listed.status_code == 200:
                exchange = [n for n in listed.json()["data"] if n["routing"] == "exchange"]
                if exchange:
                    self.number = exchange[0]["phone_number"]
                    self.stats.ack(self.runtime, "number", self.number, listed)
                    return True
        return False

    # the jobs

    def run(self, stop: threading.Event, ends: float) -> None:
        jobs = (self.reported_call, self.auctioned_call, self.live_call, self.abandoned_call, self.undelivered_call)
        while not stop.is_set() and time.monotonic() < ends:
            if not self.ensure():
                stop.wait(0.2)
                continue
            job = self.rng.choices(jobs, weights=(3, 3, 3, 1, 1))[0]
            self.stats.add(f"jobs: {job.__name__}")
            job()

    def new_call(self) -> str | None:
        created = self.call("POST", "/calls", json={
            "from_number": self.rng.choice(CALLERS), "to_number": self.number or "+12125552671",
            "direction": "inbound", "call_type": "sales"})
        if created is None or created.status_code != 201:
            self.stats.add(f"calls refused: {None if created is None else created.status_code} {code_of(created)}")
            return None
        call_id = created.json()["data"]["id"]
        self.stats.ack(self.runtime, "call", call_id, created)
        self.calls[call_id] = "created"
        return call_id

    def reported_call(self) -> None:
        call_id = self.new_call()
        if call_id:
            self.drive(call_id, duration=self.rng.choice((15, 45, 95, 185)))

    def abandoned_call(self) -> None:
        """Routed (and perhaps ringing), then never ended by its buyer: its hold ends by the hold job."""
        if self.abandoned >= MAX_ABANDONED:
            return self.reported_call()
        call_id = self.new_call()
        if call_id:
            self.abandoned += 1
            self.drive(call_id, stop_at=self.rng.choice(("queued", "ringing", "in_progress")))

    def undelivered_call(self) -> None:
        call_id = self.new_call()
        if call_id:
            self.drive(call_id, end_as=self.rng.choice(UNDELIVERED_ENDINGS))

    def auctioned_call(self) -> None:
        """An auction, bids from every seller at once, closed by its buyer, then routed and reported."""
        call_id = self.new_call()
        if not call_id:
            return
        auction_id = self._auction(call_id)
        if auction_id is None:
            return
        ready = [seller for seller in self.sellers if seller.ready_for is not None and seller.access]
        amounts = [f"{self.rng.randint(4, 24) * 0.25:.2f}" for _ in ready]
        with ThreadPoolExecutor(max(1, len(ready))) as pool:
            answers = list(pool.map(lambda pair: pair[0].call("POST", "/bids", json={
                "auction_id": auction_id, "amount": pair[1]}), zip(ready, amounts)))
        for answer in answers:
            self.stats.add(f"bids: {None if answer is None else answer.status_code} {code_of(answer) or ''}".strip())
        closed = self.call("POST", f"/auctions/{auction_id}/complete")
        if closed is None:
            return
        if closed.status_code == 404:
            self.stats.add("auctions gone at closing (lost to a kill)")
            return
        self.stats.add(f"auctions closed: {closed.status_code} {code_of(closed) or ''}".strip())
        self.drive(call_id, duration=self.rng.choice((35, 95, 125)))

    def _auction(self, call_id: str) -> str | None:
        for _ in range(3):
            opened = self.call("POST", "/auctions", json={"call_id": call_id, "reserve_price": "1.00", "duration": 300})
            if opened is None:
                return None
            if opened.status_code == 201:
                auction_id = opened.json()["data"]["id"]
                self.stats.ack(self.runtime, "auction", auction_id, opened)
                self.stats.add("auctions opened")
                return auction_id
            read = self.call("GET", f"/calls/{call_id}")  # opened before its answer was lost?
            if read is None or read.status_code != 200:
                return None
            if read.json()["data"].get("auction_id"):
                return read.json()["data"]["auction_id"]
            self.stats.add(f"auctions refused: {opened.status_code} {code_of(opened)}")
            return None
        return None

    def drive(self, call_id: str, duration: int = 95, stop_at: str | None = None, end_as: str | None = None) -> None:
        """Move the call on as its buyer's system reports it: route, ringing, in_progress, then complete (or
        `end_as` once routed, or stop at `stop_at`). Each step acts on what the call says now."""
        call: dict | None = None
        for _ in range(JOB_STEPS):
            if self.stopping.is_set() and stop_at is None and not end_as and call is not None \
                    and call["status"] == "pending":
                return  # not routed yet: nothing is held, and the workload is over
            if call is None:
                read = self.call("GET", f"/calls/{call_id}")
                if read is None:
                    return
                if read.status_code == 404:
                    self.stats.missing(self.runtime, "call", call_id, "a created call is gone")
                    self.calls[call_id] = "lost"
                    return
                call = read.json()["data"]
            status = call["status"]
            self.calls[call_id] = status
            if status in ENDED or status == stop_at:
                return
            if status == "pending":
                answer = self.call("POST", f"/calls/{call_id}/route")
            elif end_as and status in ("queued", "ringing"):
                answer = self.call("PATCH", f"/calls/{call_id}/status", json={"status": end_as})
            elif status == "queued":
                answer = self.call("PATCH", f"/calls/{call_id}/status", json={"status": "ringing"})
            elif status == "ringing":
                answer = self.call("PATCH", f"/calls/{call_id}/status", json={"status": "in_progress"})
            else:
                answer = self.call("POST", f"/calls/{call_id}/complete", json={"duration": duration})
            if answer is None:
                return
            if answer.status_code in (200, 201):
                call = answer.json()["data"]
                if call["status"] in ENDED:
                    self.stats.ack(self.runtime, "call ending", call_id, answer, call["status"])
                continue
            code = code_of(answer)
            self.stats.add(f"call steps answered {answer.status_code} {code}")
            if code == "AUCTION_OPEN" and call.get("auction_id"):  # its closing was lost to a kill: close it again
                self.call("POST", f"/auctions/{call['auction_id']}/complete")
            if code in ("NO_BIDS_AVAILABLE", "TOO_MANY_OPEN_CALLS", "PAYMENT_REQUIRED", "INSUFFICIENT_FUNDS"):
                self.calls[call_id] = f"{status} ({code})"
                return
            call = None  # it already happened, or the call moved on: read it again

    def live_call(self) -> None:
        """A caller dials the buyer's number on the emulator's phone network; some sellers do not answer."""
        if not self.number:
            return
        outcomes = {seller.destination: self.rng.choice(("no-answer", "busy", "failed"))
                    for seller in self.sellers if self.rng.random() < 0.3}
        body = {"from": self.rng.choice(CALLERS), "to": self.number, "talk_seconds": self.rng.choice((20, 65, 125)),
                "dial_outcomes": outcomes}
        # Not retried: a call cut off by a kill is over; the caller may call again (the next job).
        if not self.runtime.up.is_set():
            self.runtime.up.wait(5)
        emulator = self.runtime.emulator
        self.stats.add("requests")
        try:
            answer = requests.post(f"{emulator}/simulator/calls", json=body, timeout=30)
        except Exception:  # noqa: BLE001 - the runtime, and its phone network, was killed mid-call
            self.stats.add("live calls cut off by a kill")
            return
        if answer.status_code != 200:
            self.stats.add(f"live calls refused by the network: {answer.status_code}")
            return
        result = answer.json()
        self.stats.add(f"live calls: {result['status']}"
                       f"{' (answered)' if any(d['outcome'] == 'answered' for d in result['dialed']) else ''}")


@dataclass
class Received:
    user_id: str
    event_id: str
    seq: int
    type: str
    life: int  # the runtime whose connection delivered it
    at: float


@dataclass
class Listener:
    """One WebSocket client of one user: connects (again after every restart, and whenever its socket is
    closed), resumes after the last event it has that the server still knows, and records every event."""
    user: User
    runtime: ChaosRuntime
    stats: Stats
    stop: threading.Event
    received: list[Received] = field(default_factory=list)
    rejected: set[str] = field(default_factory=set)  # ids a resume was told are not found
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None
    connections: int = 0
    resumes: int = 0

    def start(self) -> None:
        """Follows until `stop` is set: a listener that gave up on a deadline would miss the events the hold job
        writes after the clock moves, under a slow machine's timing."""
        self.thread = threading.Thread(target=self._run, name=f"ws-{self.user.name}", daemon=True)
        self.thread.start()

    def ids(self, user_id: str) -> set[str]:
        with self.lock:
            return {r.event_id for r in self.received if r.user_id == user_id}

    def _after(self, user_id: str) -> str | None:
        with self.lock:
            known = sorted(((r.seq, r.event_id) for r in self.received if r.user_id == user_id), reverse=True)
        return next((event_id for _, event_id in known if event_id not in self.rejected), None)

    def _run(self) -> None:
        while not self.stop.is_set():
            if not self.runtime.up.wait(0.5):
                continue
            user_id, token = self.user.current()
            if not token:
                self.stop.wait(0.2)
                continue
            life = len(self.runtime.lives) - 1
            try:
                with connect(f"{self.runtime.ws}?token={token}", open_timeout=10, close_timeout=2) as socket:
                    self.connections += 1
                    self.stats.add("ws connections")
                    self._follow(socket, user_id, life)
            except InvalidStatus as refused:
                status = refused.response.status_code
                self.stats.add(f"ws handshakes refused: {status}")
                if status == 401:
                    self.user.relogin(token)
                self.stop.wait(0.3 if status != 429 else 1.0)
            except ConnectionClosed:
                self.stats.add("ws closed by the server")
            except (OSError, TimeoutError, InvalidHandshake):
                self.stop.wait(0.2)

    def _resume(self, socket, user_id: str) -> str | None:
        after = self._after(user_id)
        socket.send(json.dumps({"action": "resume", **({"after": after} if after else {})}))
        self.resumes += 1
        return after

    def _follow(self, socket, user_id: str, life: int) -> None:
        asked = self._resume(socket, user_id)
        while not self.stop.is_set():
            try:
                text = socket.recv(timeout=0.5)
            except TimeoutError:
                continue
            message = json.loads(text)
            kind = message.get("type")
            if message.get("seq") is not None and message.get("event_id"):
                with self.lock:
                    self.received.append(Received(user_id, message["event_id"], message["seq"], kind, life,
                                                  time.time()))
            elif kind == "error" and message.get("code") == "EVENT_NOT_FOUND" and asked:
                self.rejected.add(asked)  # lost to a kill: resume after the one before it
                self.stats.add("resumes after an event the server no longer has")
                time.sleep(0.15)  # at most 10 messages a second
                asked = self._resume(socket, user_id)
            elif kind == "error":
                self.stats.add(f"ws errors: {message.get('code')}")
            elif kind == "resumed" and message.get("more"):
                asked = message["last_event_id"]
                socket.send(json.dumps({"action": "resume", "after": asked}))
                self.resumes += 1

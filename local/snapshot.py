"""What `make run` keeps across a restart: one snapshot file in the data folder (local/data_folder.py).

A snapshot is moto's DynamoDB (every table: its definition, indexes, TTL and stream settings, and its
items) and SQS (every queue: its attributes, redrive policy and messages, with their delays, visibility
timeouts and receive counts, as moto keeps them), the Twilio emulator's account (bought numbers, calls, recordings),
the Stripe emulator's (customers, cards, payments, events) and the local clock's offset (local/clock.py). It is taken:

- with every emulated request shut out (local/atomic_moto.py `frozen()`, and the emulator's lock), so it
  is a state the data was really in: never half a DynamoDB transaction, hence never an unbalanced ledger;
- every SNAPSHOT_SECONDS (default 2, at most 4), and only when a request may have changed something since
  the last one (an idle runtime writes nothing), and once more when the runtime stops;
- into a temporary file of the data folder, fsync-ed, then renamed over the previous snapshot: a process
  killed at any moment leaves the previous complete snapshot, so `kill -9` loses at most the writes of the
  last SNAPSHOT_SECONDS plus the time one snapshot takes (0.2 to 0.5 s at 10,000 items), 2.5 s by default.

The file: a line `callx-snapshot <format>`, a line of JSON (when, what it holds, a CRC of the rest), then
moto's own objects, pickled and compressed (zlib). The objects are moto's, so a snapshot is read by the moto
version that wrote it, or by another only if those objects have not changed. They are taken whole except
what cannot or need not outlive the process: a queue's lock, its links to other queues (restored by ARN)
and the receipt handles of deleted messages.
"""
from __future__ import annotations

import contextlib
import copyreg
import io
import json
import os
import pickle
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local import atomic_moto

MAGIC = b"callx-snapshot"
FORMAT = 1
DEFAULT_SECONDS = 2.0
# At most 4: a kill then loses at most 4 s plus one snapshot's time (under 0.5 s at 10,000 items): within 5 s.
MAX_SECONDS = 4.0
_QUEUE_LEFT_OUT = ("_messages_lock", "dead_letter_queue", "lambda_event_source_mappings", "deleted_messages")


class SnapshotError(RuntimeError):
    pass


def snapshot_seconds() -> float:
    """SNAPSHOT_SECONDS: how often the data is saved (0 < seconds <= 4)."""
    raw = os.environ.get("SNAPSHOT_SECONDS")
    seconds = float(raw) if raw else DEFAULT_SECONDS
    if not 0 < seconds <= MAX_SECONDS:
        raise SnapshotError(f"SNAPSHOT_SECONDS must be more than 0 and at most {MAX_SECONDS:g}, not {raw}")
    return seconds


@dataclass(frozen=True)
class Contents:
    tables: int = 0
    items: int = 0
    messages: int = 0
    numbers: int = 0
    calls: int = 0

    def describe(self) -> str:
        parts = [_count(self.tables, "table"), _count(self.items, "item"), _count(self.messages, "queued message")]
        if self.numbers:
            parts.append(_count(self.numbers, "Twilio number"))
        return ", ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# --- moto's state ------------------------------------------------------------------------------------

def _backends(backend_dict) -> list[tuple[str, str, Any]]:
    return [(account, region, backend) for account, regions in list(backend_dict.items())
            for region, backend in list(regions.items())]


def _queue_state(queue) -> dict[str, Any]:
    state = {name: value for name, value in vars(queue).items() if name not in _QUEUE_LEFT_OUT}
    state["dead_letter_queue_arn"] = queue.dead_letter_queue.queue_arn if queue.dead_letter_queue else None
    return state


def _new_queue(state: dict[str, Any]):
    from moto.sqs.models import Queue

    queue = Queue.__new__(Queue)
    state = dict(state)
    state.pop("dead_letter_queue_arn", None)
    vars(queue).update(state)
    queue._messages_lock = threading.Condition()
    queue.dead_letter_queue = None
    queue.lambda_event_source_mappings = {}
    queue.deleted_messages = set()
    return queue


def _moto_state() -> dict[str, Any]:
    """moto's DynamoDB tables and SQS queues (live objects: pickle them before letting go of the locks)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    return {
        "dynamodb": [(account, region, list(backend.tables.values()))
                     for account, region, backend in _backends(dynamodb_backends) if backend.tables],
        "sqs": [(account, region, [_queue_state(queue) for queue in backend.queues.values()])
                for account, region, backend in _backends(sqs_backends) if backend.queues],
    }


def _contents(state: dict[str, Any]) -> Contents:
    tables = [table for _, _, tables in state["dynamodb"] for table in tables]
    queues = [queue for _, _, queues in state["sqs"] for queue in queues]
    account = state.get("twilio") or {}
    return Contents(tables=len(tables), items=sum(_item_count(table) for table in tables),
                    messages=sum(len(queue["_messages"]) for queue in queues),
                    numbers=len(account.get("owned", [])), calls=len(account.get("calls", [])))


def _item_count(table) -> int:
    if table.range_key_attr is None:
        return len(table.items)
    return sum(len(by_range) for by_range in table.items.values())


# --- taking one ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Snapshot:
    header: dict[str, Any]
    body: bytes  # moto's objects, pickled and compressed
    signature: tuple  # what had changed when it was taken (Snapshotter)


def signature(twilio=None, clock=None, stripe=None) -> tuple:
    """Moves whenever a request may have changed what a snapshot holds."""
    return (atomic_moto.changes(), twilio.version if twilio else None, clock.offset if clock else None,
            stripe.version if stripe else None)


def capture(twilio=None, clock=None, carried: dict[str, Any] | None = None, stripe=None) -> Snapshot:
    """Everything, as it is between two requests: moto's DynamoDB and SQS, the emulator's account (`twilio`,
    a TwilioEmulator) and the clock's offset (`clock`, a LocalClock). A part this runtime does not have (real
    Twilio, no clock control) is carried over from the state it resumed (`carried`), for a later run."""
    import moto

    carried = carried or {}
    emulator_lock = twilio.lock if twilio is not None else contextlib.nullcontext()
    stripe_lock = stripe.lock if stripe is not None else contextlib.nullcontext()
    with atomic_moto.frozen(), emulator_lock, stripe_lock:
        taken_at = time.time()
        signed = signature(twilio, clock, stripe)
        state = _moto_state()
        state["twilio"] = twilio.export_account() if twilio is not None else carried.get("twilio")
        state["stripe"] = stripe.export_account() if stripe is not None else carried.get("stripe")
        state["clock_offset"] = clock.offset if clock is not None else carried.get("clock_offset", 0.0)
        pickled = _pickle(state)
        contents = _contents(state)
        held = time.time() - taken_at
    body = zlib.compress(pickled, 1)  # a tenth of the size, for a few milliseconds (outside the locks)
    header = {"format": FORMAT, "taken_at": taken_at, "held_seconds": round(held, 4), "moto": moto.__version__,
              "clock_offset": state["clock_offset"], "contents": vars(contents), "bytes": len(body),
              "crc32": zlib.crc32(body)}
    return Snapshot(header, body, signed)


def _pickle(state: dict[str, Any]) -> bytes:
    """pickle, with moto's DynamoDB attribute values (most of the objects) as (type, value): 15-40% faster
    than their default reduction in our measurements, and so that much less time with every request held."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    if set(vars(DynamoType({"S": ""}))) == {"type", "value"}:  # moto's DynamoType as this was written for
        pickler.dispatch_table = {**copyreg.dispatch_table, DynamoType: _reduce_dynamo_type}
    pickler.dump(state)
    return buffer.getvalue()


def _reduce_dynamo_type(value) -> tuple:
    return _dynamo_type, (value.type, value.value)


def _dynamo_type(type_: str, value: Any):
    """A DynamoType as it was (its nested values are DynamoTypes already, unpickled the same way)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    restored = DynamoType.__new__(DynamoType)
    restored.type, restored.value = type_, value
    return restored


def write(snapshot: Snapshot, path: Path) -> None:
    """Atomically: the file at `path` is the previous snapshot or this one, whenever the process dies."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
            file.write(MAGIC + b" %d\n" % FORMAT)
            file.write(json.dumps(snapshot.header).encode() + b"\n")
            file.write(snapshot.body)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def read_header(path: Path) -> dict[str, Any]:
    """What a snapshot file holds (when taken, counts), without reading moto's objects."""
    with open(path, "rb") as file:
        return _header(file, path)


def _header(file, path: Path) -> dict[str, Any]:
    magic = file.readline().split()
    if len(magic) != 2 or magic[0] != MAGIC:
        raise SnapshotError(f"{path} is not a snapshot of `make run`")
    if int(magic[1]) != FORMAT:
        raise SnapshotError(f"{path} is a snapshot of format {int(magic[1])}; this runtime reads format {FORMAT}")
    return json.loads(file.readline())


def read(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and the state of a snapshot file."""
    import moto

    with open(path, "rb") as file:
        header = _header(file, path)
        body = file.read()
    if len(body) != header["bytes"] or zlib.crc32(body) != header["crc32"]:
        raise SnapshotError(f"{path} is damaged (its length or checksum does not match)")
    try:
        return header, load(body)
    except Exception as error:
        raise SnapshotError(f"{path} was written by moto {header.get('moto')} and cannot be read with moto "
                            f"{moto.__version__} ({error!r}): `make reset` or FRESH=1 starts empty") from error


def load(body: bytes) -> dict[str, Any]:
    """The state a snapshot's body holds (Snapshot.body, or a file's after its header)."""
    return pickle.loads(zlib.decompress(body))


# --- restoring one ---------------------------------------------------------------------------------------

def restore(state: dict[str, Any], twilio=None, clock=None, stripe=None) -> Contents:
    """Put a snapshot's state into moto's backends (before the runtime's first request), the emulator's
    account and the clock's offset."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    with atomic_moto.frozen():
        for account, region, tables in state["dynamodb"]:
            backend = dynamodb_backends[account][region]
            for table in tables:
                backend.tables[table.name] = table
        for account, region, queues in state["sqs"]:
            backend = sqs_backends[account][region]
            restored = [(queue_state["dead_letter_queue_arn"], _new_queue(queue_state)) for queue_state in queues]
            for _, queue in restored:
                backend.queues[queue.name] = queue
            by_arn = {queue.queue_arn: queue for queue in backend.queues.values()}
            for dead_letter_arn, queue in restored:
                queue.dead_letter_queue = by_arn.get(dead_letter_arn) if dead_letter_arn else None
    if twilio is not None and state.get("twilio") is not None:
        twilio.restore_account(state["twilio"])
    if stripe is not None and state.get("stripe") is not None:
        stripe.restore_account(state["stripe"])
    if clock is not None:
        clock.resume(state.get("clock_offset") or 0.0)
    return _contents(state)


# --- every few seconds -------------------------------------------------------------------------------------

class Snapshotter:
    """Writes a snapshot to `path` every `seconds` when something changed, and on `stop()`."""

    def __init__(self, path: Path, seconds: float, twilio=None, clock=None, carried: dict[str, Any] | None = None,
                 on_error=None, stripe=None) -> None:
        self.path, self.seconds = Path(path), seconds
        self._twilio, self._clock, self._carried, self._stripe = twilio, clock, carried, stripe
        self._on_error = on_error or (lambda error: None)
        self._written: tuple | None = None
        self._writing = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="snapshots", daemon=True)
        self.taken = 0  # snapshots written

    def start(self) -> "Snapshotter":
        self._thread.start()
        return self

    def snapshot(self, force: bool = False) -> bool:
        """One snapshot, if something changed since the last (or `force`); whether one was written."""
        with self._writing:
            if not force and signature(self._twilio, self._clock, self._stripe) == self._written:
                return False
            taken = capture(self._twilio, self._clock, self._carried, self._stripe)
            write(taken, self.path)
            self._written = taken.signature
            self.taken += 1
            return True

    def stop(self) -> bool:
        """No more periodic snapshots; the last one, if anything changed since. Whether it wrote one."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.snapshot()

    def _run(self) -> None:
        # At a fixed rate, from the start of one to the start of the next: a write is on disk at most
        # `seconds` plus the time one snapshot takes after it was acknowledged.
        due = time.monotonic() + self.seconds
        while not self._stopped.wait(max(0.0, due - time.monotonic())):
            due = max(due + self.seconds, time.monotonic())
            try:
                self.snapshot()
            except Exception as error:  # a full disk: keep serving, say so, try again next time
                self._on_error(error)

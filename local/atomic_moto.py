"""Makes moto's DynamoDB apply each request atomically, as DynamoDB does, and lets `make run` take a
consistent snapshot of moto's DynamoDB and SQS (local/snapshot.py).

moto evaluates a condition expression and then writes, with no lock in between, so two threads can
both pass `token_hash = :old` and both write. Real DynamoDB applies every request (and transaction)
atomically. One lock around each emulated DynamoDB request restores that guarantee for the local
runtime and the tests; it changes nothing else.

SQS (`make_sqs_requests_atomic`, the runtime only): a second lock around each call of moto's SQS backend
that changes a queue, so that a snapshot never sees a message half received or a queue half purged. A
long poll (ReceiveMessage with WaitTimeSeconds) takes it only for each attempt, never while it waits.

`frozen()` holds both: while it is held no emulated request changes anything, so what is read then is a
state that DynamoDB and SQS were really in. `changes()` counts the requests that may have changed
something (a DynamoDB write, a message sent, received or deleted...), so a snapshot is taken only when
the count has moved.
"""
from __future__ import annotations

import contextlib
import functools
import threading
import time
from typing import Iterator

_lock = threading.RLock()  # every DynamoDB request
_sqs_lock = threading.RLock()  # every SQS call that changes a queue
_changes = 0

# DynamoDB actions that change nothing: every other one counts as a change.
_READS = frozenset({
    "GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "DescribeTable", "ListTables",
    "DescribeTimeToLive", "ListTagsOfResource", "DescribeContinuousBackups", "DescribeEndpoints",
    "DescribeLimits", "ListBackups", "DescribeBackup", "ListExports", "DescribeExport",
})
# moto's SQS backend: the methods that change a queue (the others only read).
_SQS_WRITES = ("create_queue", "delete_queue", "set_queue_attributes", "send_message", "send_message_batch",
               "delete_message", "delete_message_batch", "change_message_visibility",
               "change_message_visibility_batch", "purge_queue", "add_permission", "remove_permission",
               "tag_queue", "untag_queue")


def _changed() -> None:
    global _changes
    _changes += 1  # under one of the locks; a lost increment would still leave the count moved


def changes() -> int:
    """How many requests may have changed emulated DynamoDB or SQS since the process started."""
    return _changes


@contextlib.contextmanager
def frozen() -> Iterator[None]:
    """No emulated DynamoDB or SQS request changes anything while this is held (always in this order:
    no request holds one lock while it waits for the other)."""
    with _lock, _sqs_lock:
        yield


def make_dynamodb_requests_atomic() -> None:
    from moto.dynamodb.responses import DynamoHandler

    from local.moto_transactions import make_transaction_backups_cheap

    make_transaction_backups_cheap()  # safe once requests are serialised (below)
    if getattr(DynamoHandler.call_action, "atomic", False):
        return
    original = DynamoHandler.call_action

    @functools.wraps(original)
    def call_action(self):
        with _lock:
            target = self.headers.get("X-Amz-Target") or self.headers.get("x-amz-target") or ""
            if target.rsplit(".", 1)[-1] not in _READS:
                _changed()
            return original(self)

    call_action.atomic = True
    DynamoHandler.call_action = call_action


def make_sqs_requests_atomic() -> None:
    from moto.sqs.models import SQSBackend

    if getattr(SQSBackend.receive_message, "atomic", False):
        return
    for name in _SQS_WRITES:
        setattr(SQSBackend, name, _locked(getattr(SQSBackend, name)))
    SQSBackend.receive_message = _receive_in_attempts(SQSBackend.receive_message)


def make_moto_atomic() -> None:
    make_dynamodb_requests_atomic()
    make_sqs_requests_atomic()


def _locked(method):
    @functools.wraps(method)
    def locked(*args, **kwargs):
        with _sqs_lock:
            _changed()
            return method(*args, **kwargs)

    locked.atomic = True
    return locked


def _receive_in_attempts(receive):
    """moto's receive_message, each attempt under the lock (with no wait), the long poll's waits outside it:
    a poller waiting for messages does not keep a sender (or a snapshot) out."""

    @functools.wraps(receive)
    def receive_message(self, queue_name, count, wait_seconds_timeout, visibility_timeout,
                        message_attribute_names=None):
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            with _sqs_lock:
                queue = self.get_queue(queue_name)
                before = len(queue._messages)
                result = receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
                if result or len(queue._messages) != before:  # received, or moved to the dead-letter queue
                    _changed()
            remaining = deadline - time.monotonic()
            if result or remaining <= 0:
                return result
            started = time.monotonic()
            queue.wait_for_messages(min(1.0, remaining))  # woken by a message sent; delays end unannounced
            if time.monotonic() - started < 0.01:  # messages that are visible but not for us (moto spins here)
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    receive_message.atomic = True
    return receive_message

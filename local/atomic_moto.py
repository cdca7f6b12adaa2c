"""Makes moto's DynamoDB apply each request atomically, as DynamoDB does.

moto evaluates a condition expression and then writes, with no lock in between, so two threads can
both pass `token_hash = :old` and both write. Real DynamoDB applies every request (and transaction)
atomically. One lock around each emulated DynamoDB request restores that guarantee for the local
runtime and the tests; it changes nothing else.
"""
from __future__ import annotations

import functools
import threading

_lock = threading.RLock()


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
            return original(self)

    call_action.atomic = True
    DynamoHandler.call_action = call_action

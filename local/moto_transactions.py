"""Makes moto's TransactWriteItems cost what it writes, not what its tables hold.

moto backs up every table a transaction names with a deep copy, to put it back if the transaction is
cancelled: each commit copies whole tables. The outbox table (persistence/outbox.py) is in nearly every
commit and only grows under `make run` (no TTL there), so commits slowed down as a session went on (60 ms
at 1,000 outbox items, 250 ms at 3,000, on this machine). The backup is still a deep copy, but one that
shares what the transaction cannot change: every item at a key it does not name, and the stream records
written before it (never changed once written). Items at the keys it names are copied as before, so a
cancelled transaction is rolled back exactly as moto does it. Requests are serialised (atomic_moto.py), so
swapping the module's `copy` for the length of one transaction is safe.
"""
from __future__ import annotations

import copy as real_copy
from typing import Any

_installed = False


def make_transaction_backups_cheap() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items

    class _SharingCopy:
        """Stands in for `copy` in moto.dynamodb.models while one transaction runs."""

        def __init__(self, changing: set[int]):
            self.changing = changing

        def deepcopy(self, value: Any, memo: dict | None = None) -> Any:
            if not isinstance(value, Table):
                return real_copy.deepcopy(value, memo)
            shared: dict[int, Any] = {}
            for item in _items(value):
                if id(item) not in self.changing:
                    shared[id(item)] = item
            if value.stream_shard is not None:
                shared.update((id(record), record) for record in value.stream_shard.items)
            return real_copy.deepcopy(value, shared)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        changing = set()
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            item = _current(self, op)
            if item is not None:
                changing.add(id(item))
        models.copy = _SharingCopy(changing)
        try:
            return original(self, transact_items)
        finally:
            models.copy = real_copy

    models.DynamoDBBackend.transact_write_items = transact_write_items
    _installed = True


def _items(table: Any) -> list[Any]:
    if table.range_key_attr is None:
        return list(table.items.values())
    return [item for by_range in table.items.values() for item in by_range.values()]


def _current(backend: Any, op: dict[str, Any]) -> Any:
    """The item stored now at the key an operation names (None when there is none, or it cannot be told)."""
    try:
        table = backend.get_table(op["TableName"])
        key = op.get("Key") or {name: op["Item"][name] for name in (table.hash_key_attr, table.range_key_attr)
                                if name}
        return backend.get_item(op["TableName"], key)
    except Exception:  # noqa: BLE001 - a malformed operation: moto's own checks will say so
        return None

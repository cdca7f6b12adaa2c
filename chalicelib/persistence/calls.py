"""A call's status change as it is written: the status, the key of the owner's per-status index and
the owner's per-status counters move together, in the caller's transaction."""
from __future__ import annotations

from typing import Any

from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.domain.calls import lifecycle_times
from chalicelib.persistence import counters
from chalicelib.persistence.tables import CallModel


def move_status(tx: TransactWrite, call: CallModel, target: str, changes: dict[str, Any],
                condition: Any = None) -> dict[str, Any]:
    """Conditional on the status we read (and on `condition`): of two concurrent changes only one applies.
    Returns every attribute written, for `apply` once the transaction has committed. The lifecycle's
    times (started_at, ended_at) are written with the move that sets them."""
    now = changes.get("updated_at") or clock.now()
    written = {"status": target, "owner_status": f"{call.owner_id}#{target}", **lifecycle_times(target, now),
               **changes}
    read = CallModel.status == call.status
    tx.update(call, actions=[getattr(CallModel, name).set(value) for name, value in written.items()],
              condition=read if condition is None else read & condition)
    counters.add(tx, counters.calls(call.owner_id, call.status), -1)
    counters.add(tx, counters.calls(call.owner_id, target))
    return written


def apply(call: CallModel, written: dict[str, Any]) -> CallModel:
    """The call as the committed write left it, without reading it again."""
    for name, value in written.items():
        setattr(call, name, value)
    return call

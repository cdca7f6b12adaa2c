"""A call's status change as it is written: the status, the key of the owner's per-status index and
the owner's per-status counters move together, in the caller's transaction."""
from __future__ import annotations

from pynamodb.transactions import TransactWrite

from chalicelib.persistence import counters
from chalicelib.persistence.models import CallModel


def move_status(tx: TransactWrite, call: CallModel, target: str, actions: list, condition=None) -> None:
    """Conditional on the status we read (and on `condition`): of two concurrent changes only one applies."""
    read = CallModel.status == call.status
    tx.update(call, actions=[CallModel.status.set(target), CallModel.owner_status.set(f"{call.owner_id}#{target}"),
                             *actions], condition=read if condition is None else read & condition)
    counters.add(tx, counters.calls(call.owner_id, call.status), -1)
    counters.add(tx, counters.calls(call.owner_id, target))

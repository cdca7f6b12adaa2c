"""A call's status change as it is written: the status, the key of the owner's per-status index and
the owner's per-status counters move together, in the caller's unit of work, which owes the change's
event and brings the caller's call up to date once committed."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.domain import events
from chalicelib.domain.calls import ENDED, lifecycle_times
from chalicelib.persistence import counters, holds
from chalicelib.persistence.tables import CallModel
from chalicelib.persistence.unit_of_work import UnitOfWork


def move_status(work: UnitOfWork, call: CallModel, target: str, changes: dict[str, Any],
                condition: Any = None) -> dict[str, Any]:
    """Conditional on the status we read (and on `condition`): of two concurrent changes only one applies.
    Returns every attribute written (a None is removed). The lifecycle's times (started_at, ended_at) are
    written with the move that sets them, and an ending takes the call out of the open holds."""
    now = changes.get("updated_at") or clock.now()
    # An ended call has converted or not (null until it ends): only a settlement's changes say it did.
    ending = {**holds.closed(), "converted": False} if target in ENDED else {}
    written = {"status": target, "owner_status": f"{call.owner_id}#{target}", **lifecycle_times(target, now),
               **ending, **changes}
    read = CallModel.status == call.status
    work.update(call, actions=[getattr(CallModel, name).set(value) if value is not None
                               else getattr(CallModel, name).remove() for name, value in written.items()],
                condition=read if condition is None else read & condition)
    counters.add(work, counters.calls(call.owner_id, call.status), -1)
    counters.add(work, counters.calls(call.owner_id, target))
    work.emit(*events.call_moved(call, written))
    work.assign(call, written)
    return written

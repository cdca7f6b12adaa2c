"""One unit of work: everything one use case changes, committed at once.

A use case adds to a UnitOfWork the items it writes (save, update, delete), the conditions it depends on
without writing (condition_check), and what it owes once they are written: realtime events (emit),
queued messages (send: a notification, an auction's closing) and what the models it read hold once
written (assign). commit() writes every item in one TransactWriteItems: all or none. What the unit owes
is written in the same transaction, as one outbox item (persistence/outbox.py): it exists exactly when the
change does, and the outbox table's stream publishes it (workers/outbox.py); nothing is sent after the
commit, so nothing owed can be lost by a send that fails. A cancelled commit raises TransactWriteError
with the items whose condition failed (failed_items()), and owes nothing; a committed one applies its
updates.

Used as `with UnitOfWork() as work: ...` (committed when the block ends without an error), or built and
then committed by whoever interprets its failure (ledger.post names a 402 or a replay).
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Callable

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.persistence import outbox
from chalicelib.persistence.db import connection
from chalicelib.persistence.tables import OutboxModel

CONFLICT_ATTEMPTS = 6
_sleep: Callable[[float], None] = time.sleep  # tests replace it


@dataclass(frozen=True)
class ConditionChecked:
    """A condition checked on an item the unit does not write."""

    model: Any
    hash_key: Any
    range_key: Any = None


class UnitOfWork(TransactWrite):
    """DynamoDB cancels a transaction that meets another one on the same item (TransactionConflict:
    nothing was written) and says to retry. Hot items meet often: the auction every bid counts on,
    the platform accounts every posting touches. The same request is sent again, with jittered
    backoff; any other cancellation (a failed condition) is the caller's to interpret."""

    def __init__(self) -> None:
        super().__init__(connection=connection())
        # What each item of the request is, in the order DynamoDB reports cancellation reasons.
        self._checked: list[Any] = []
        self._deleted: list[Any] = []
        self._saved: list[Any] = []
        self._updated: list[Any] = []
        self._events: list[dict[str, Any]] = []
        self._messages: list[tuple[str, dict[str, Any], int]] = []
        self._assigned: list[tuple[Any, dict[str, Any]]] = []
        self._outbox: OutboxModel | None = None  # what it owes, once commit() has added it
        self.committed = False

    # --- what it writes ---

    def condition_check(self, model_cls: Any, hash_key: Any, range_key: Any = None, condition: Any = None) -> Any:
        """Returns the check, so that failed_items() can name it."""
        super().condition_check(model_cls, hash_key, range_key=range_key, condition=condition)
        check = ConditionChecked(model_cls, hash_key, range_key)
        self._checked.append(check)
        return check

    def delete(self, model: Any, *args: Any, **kwargs: Any) -> None:
        super().delete(model, *args, **kwargs)
        self._deleted.append(model)

    def save(self, model: Any, *args: Any, **kwargs: Any) -> None:
        super().save(model, *args, **kwargs)
        self._saved.append(model)

    def update(self, model: Any, *args: Any, **kwargs: Any) -> None:
        super().update(model, *args, **kwargs)
        self._updated.append(model)

    # --- what it owes once written ---

    def emit(self, *events: dict[str, Any]) -> None:
        """Realtime events (domain/events.py) of this change: stored with it, published from the outbox."""
        self._events.extend(events)

    def send(self, queue: str, body: dict[str, Any], delay_seconds: int = 0) -> None:
        """An SQS message this change owes (a notification, an auction's closing): stored with it, sent from
        the outbox; the delay counts from the commit."""
        self._messages.append((queue, body, delay_seconds))

    def assign(self, model: Any, values: dict[str, Any]) -> None:
        """Once committed, `model` (as the caller holds it) has these values, without reading it again."""
        self._assigned.append((model, values))

    # --- committing ---

    def commit(self) -> None:
        if self.committed:
            raise RuntimeError("This unit of work has been committed already")
        if self._outbox is None:
            self._outbox = outbox.item(self._events, self._messages, clock.now())
            if self._outbox is not None:  # one more item of the same transaction
                self.save(self._outbox, condition=OutboxModel.unit_id.does_not_exist())
        if self._checked or self._deleted or self._saved or self._updated:
            self._commit()
        self.committed = True
        for model, values in self._assigned:
            for name, value in values.items():
                setattr(model, name, value)

    @property
    def owed(self) -> OutboxModel | None:
        """The outbox item a commit wrote (or tried to): what this unit owes (tests, logs)."""
        return self._outbox

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if exc_type is None and not self.committed:
            self.commit()

    def _failed(self, error: TransactWriteError) -> list[Any]:
        items = self._checked + self._deleted + self._saved + self._updated
        return [item for item, failed in zip(items, failed_conditions(error)) if failed]

    def _commit(self) -> Any:
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return super()._commit()
            except TransactWriteError as error:
                if attempt == CONFLICT_ATTEMPTS or not only_conflicts(error):
                    error.failed_items = self._failed(error)  # for the caller's except (failed_items())
                    raise
                _sleep(random.uniform(0, 0.01 * 2 ** attempt))
        raise AssertionError("unreachable")


def failed_items(error: TransactWriteError) -> list[Any]:
    """The items (models and condition checks) of a cancelled unit of work whose condition failed."""
    return getattr(error, "failed_items", [])


def failed_conditions(error: TransactWriteError) -> list[bool]:
    """Which items of a cancelled transaction failed their condition, in DynamoDB's item order
    (condition checks, then deletes, then puts, then updates, as PynamoDB sends them)."""
    return [bool(r and r.code == "ConditionalCheckFailed") for r in (error.cancellation_reasons or [])]


def only_conflicts(error: TransactWriteError) -> bool:
    codes = {r.code for r in (error.cancellation_reasons or []) if r and r.code != "None"}
    return codes == {"TransactionConflict"}

"""Binds models to their physical tables and endpoint; transactions and table creation."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.config import get_settings
from chalicelib.persistence.tables import ALL_MODELS

if TYPE_CHECKING:
    from chalicelib.config import Settings

_bound_to: Settings | None = None
_shared: Connection | None = None


def configure(settings: Settings | None = None) -> None:
    """Point every model at this stage's tables, through one DynamoDB connection (one botocore client)
    for the whole process: models, transactions and authentication share it, and a warm Lambda reuses
    it. Called once per invocation (http.py for routes, workers/ for events); cheap when nothing changed.
    New settings (tests, the local runtime) bind everything again."""
    global _bound_to, _shared
    settings = settings or get_settings()
    if _bound_to is settings:
        return
    shared = Connection(region=settings.region, host=settings.dynamodb_endpoint)
    for model in ALL_MODELS:
        model.Meta.table_name = settings.table_name(model.logical_name)
        model.Meta.region = settings.region
        model.Meta.host = settings.dynamodb_endpoint
        model._connection = None  # PynamoDB caches the connection with the old host
        table = model._get_connection()  # its key schema; no client is built until a request
        shared.add_meta_table(table.get_meta_table())
        table.connection = shared
    _shared, _bound_to = shared, settings


def connection() -> Connection:
    """The process's DynamoDB connection (for transactions)."""
    configure()
    assert _shared is not None
    return _shared


CONFLICT_ATTEMPTS = 6
_sleep: Callable[[float], None] = time.sleep  # tests replace it


@dataclass(frozen=True)
class ConditionChecked:
    """A condition checked on an item the transaction does not write."""

    model: Any
    hash_key: Any
    range_key: Any = None


class _TransactWrite(TransactWrite):
    """DynamoDB cancels a transaction that meets another one on the same item (TransactionConflict:
    nothing was written) and says to retry. Hot items meet often: the auction every bid counts on,
    the platform accounts every posting touches. The same request is sent again, with jittered
    backoff; any other cancellation (a failed condition) is the caller's to handle."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # What each item of the request is, in the order DynamoDB reports cancellation reasons.
        self._checked: list[Any] = []
        self._deleted: list[Any] = []
        self._saved: list[Any] = []
        self._updated: list[Any] = []

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

    def failed(self, error: TransactWriteError) -> list[Any]:
        """The models (and condition checks) whose condition failed."""
        items = self._checked + self._deleted + self._saved + self._updated
        return [item for item, failed in zip(items, failed_conditions(error)) if failed]

    def _commit(self) -> Any:
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return super()._commit()
            except TransactWriteError as error:
                if attempt == CONFLICT_ATTEMPTS or not only_conflicts(error):
                    error.failed_items = self.failed(error)  # for callers outside the `with` (failed_items())
                    raise
                _sleep(random.uniform(0, 0.01 * 2 ** attempt))
        raise AssertionError("unreachable")


def failed_items(error: TransactWriteError) -> list[Any]:
    """The models of a cancelled transaction whose condition failed."""
    return getattr(error, "failed_items", [])


def only_conflicts(error: TransactWriteError) -> bool:
    codes = {r.code for r in (error.cancellation_reasons or []) if r and r.code != "None"}
    return codes == {"TransactionConflict"}


def transact_write(client_request_token: str | None = None) -> _TransactWrite:
    """A DynamoDB transaction: all of its writes happen, or none."""
    return _TransactWrite(connection=connection(), client_request_token=client_request_token)


def failed_conditions(error: TransactWriteError) -> list[bool]:
    """Which items of a cancelled transaction failed their condition, in DynamoDB's item order
    (condition checks, then deletes, then puts, then updates, as PynamoDB sends them)."""
    return [bool(r and r.code == "ConditionalCheckFailed") for r in (error.cancellation_reasons or [])]


def create_tables() -> None:
    """Create every table that does not exist yet (local runtime and tests)."""
    configure()
    for model in ALL_MODELS:
        model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")

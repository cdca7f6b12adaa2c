"""Binds models to their physical tables and endpoint, through one connection; table creation.
Transactions are units of work (persistence/unit_of_work.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.connection import Connection

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


def create_tables() -> None:
    """Create every table that does not exist yet (local runtime and tests)."""
    configure()
    for model in ALL_MODELS:
        model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")

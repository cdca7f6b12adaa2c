"""Binds models to their physical tables and endpoint; transactions and table creation."""
from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.config import Settings, get_settings
from chalicelib.persistence.models import ALL_MODELS

_bound_to: Settings | None = None


def configure(settings: Settings | None = None) -> None:
    """Point every model at this stage's tables. Cheap when nothing changed (called per event)."""
    global _bound_to
    settings = settings or get_settings()
    if _bound_to is settings:
        return
    for model in ALL_MODELS:
        model.Meta.table_name = settings.table_name(model.logical_name)
        model.Meta.region = settings.region
        model.Meta.host = settings.dynamodb_endpoint
        model._connection = None  # PynamoDB caches the connection with the old host
    _bound_to = settings


def connection() -> Connection:
    settings = get_settings()
    return Connection(region=settings.region, host=settings.dynamodb_endpoint)


def transact_write(client_request_token: str | None = None) -> TransactWrite:
    """A DynamoDB transaction: all of its writes happen, or none."""
    configure()
    return TransactWrite(connection=connection(), client_request_token=client_request_token)


def failed_conditions(error: TransactWriteError) -> list[bool]:
    """Which items of a cancelled transaction failed their condition, in DynamoDB's item order
    (condition checks, then deletes, then puts, then updates, as PynamoDB sends them)."""
    return [bool(r and r.code == "ConditionalCheckFailed") for r in (error.cancellation_reasons or [])]


def create_tables() -> None:
    """Create every table that does not exist yet (local runtime and tests)."""
    configure()
    for model in ALL_MODELS:
        model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")

"""Listing totals, kept by the writes that change them (CounterModel), read with one GetItem."""
from __future__ import annotations

from pynamodb.transactions import TransactWrite

from chalicelib.persistence.models import CounterModel


def add(tx: TransactWrite, key: str, by: int = 1) -> None:
    """Counts `by` more (or fewer) under `key`, in the transaction that adds or removes the items."""
    tx.update(CounterModel(counter_key=key), actions=[CounterModel.value.add(by)])


def value(key: str) -> int:
    try:
        return int(CounterModel.get(key, consistent_read=True).value)
    except CounterModel.DoesNotExist:
        return 0


def calls(owner_id: str, status: str | None = None) -> str:
    return f"calls#{owner_id}" if status is None else f"calls#{owner_id}#{status}"


def seller_calls(seller_id: str) -> str:
    """The calls routed to a seller (CallModel.by_seller): counted when routing gives a call its seller,
    uncounted when a released attempt takes it away."""
    return f"seller_calls#{seller_id}"


def bids(seller_id: str) -> str:
    return f"bids#{seller_id}"


def profiles(seller_id: str) -> str:
    return f"profiles#{seller_id}"


def notifications(user_id: str) -> str:
    return f"notifications#{user_id}"


def refusals(owner_id: str) -> str:
    return f"refusals#{owner_id}"


def users(account_type: str | None = None) -> str:
    return f"users#{account_type or '*'}"

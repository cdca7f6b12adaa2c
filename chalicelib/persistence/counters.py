"""Listing totals, kept by the writes that change them (CounterModel), read with one GetItem."""
from __future__ import annotations

import random

from chalicelib.persistence.tables import CounterModel
from chalicelib.persistence.unit_of_work import UnitOfWork


def add(work: UnitOfWork, key: str, by: int = 1) -> None:
    """Counts `by` more (or fewer) under `key`, in the unit of work that adds or removes the items."""
    work.update(CounterModel(counter_key=key), actions=[CounterModel.value.add(by)])


def add_within(work: UnitOfWork, key: str, maximum: int) -> CounterModel:
    """Counts one more under `key` on condition it has fewer than `maximum`; the item, for failed_items."""
    counter = CounterModel(counter_key=key)
    work.update(counter, actions=[CounterModel.value.add(1)],
                condition=CounterModel.value.does_not_exist() | (CounterModel.value < maximum))
    return counter


def value(key: str) -> int:
    try:
        return int(CounterModel.get(key, consistent_read=True).value)
    except CounterModel.DoesNotExist:
        return 0


# Totals across users (what an admin lists) are spread over shards, so that writes of different users
# rarely meet on one counter item (a transaction that does fails and is retried).
SHARDS = 16
ALL_CALLS, ALL_NUMBERS, ALL_ORDERS = "calls", "numbers", "orders"  # ledger entries: the books' totals (ledger.py)


def add_to_all(work: UnitOfWork, listing: str, by: int = 1) -> None:
    add(work, f"{listing}#*#{random.randrange(SHARDS)}", by)


def value_of_all(listing: str) -> int:
    """One batch read of the shards."""
    keys = [f"{listing}#*#{shard}" for shard in range(SHARDS)]
    return sum(int(counter.value) for counter in CounterModel.batch_get(keys, consistent_read=True))


def calls(owner_id: str, status: str | None = None) -> str:
    return f"calls#{owner_id}" if status is None else f"calls#{owner_id}#{status}"


def open_reported_calls(owner_id: str) -> str:
    """A buyer's calls reported through the API that are routed (a seller's price is held) and not ended."""
    return f"open_reported_calls#{owner_id}"


def seller_calls(seller_id: str) -> str:
    """The calls routed to a seller (CallModel.by_seller): counted when routing gives a call its seller,
    uncounted when a released attempt takes it away."""
    return f"seller_calls#{seller_id}"


OPEN_DISPUTES = "disputes#open"  # counted in shards (add_to_all), as the users' totals are
BLOCKED_CALLERS = "blocked_callers"


def bids(seller_id: str) -> str:
    return f"bids#{seller_id}"


def profiles(seller_id: str) -> str:
    return f"profiles#{seller_id}"


def notifications(user_id: str) -> str:
    return f"notifications#{user_id}"


def top_ups(user_id: str) -> str:
    return f"top_ups#{user_id}"


def refusals(owner_id: str) -> str:
    return f"refusals#{owner_id}"


def users(account_type: str | None = None) -> str:
    return f"users#{account_type or '*'}"

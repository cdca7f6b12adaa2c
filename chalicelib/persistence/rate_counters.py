"""Counters that limit how often someone may do something: requests per window, counted with one atomic
ADD, and password checks reserved before they run (tables/limits.py)."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import TransactWriteError

from chalicelib.persistence.unit_of_work import UnitOfWork, failed_conditions
from chalicelib.persistence.tables import RateCounterModel


def count(key: str, attributes: tuple[str, ...], purge_at: datetime) -> dict[str, int]:
    """Adds one to each attribute of the window's item in one UpdateItem (the only write a limited request
    adds) and answers the counts after it."""
    item = RateCounterModel(counter_key=key)
    actions = [getattr(RateCounterModel, name).add(1) for name in attributes]
    item.update(actions=[*actions, RateCounterModel.purge_at.set(purge_at)])
    return {name: int(getattr(item, name) or 0) for name in attributes}


def reserve(keys: dict[str, int], purge_at: datetime) -> str | None:
    """One attempt under every key at once, each on condition that it has fewer than its limit: all or none
    (one transaction). None when reserved, else the first key that is at its limit."""
    items = [RateCounterModel(counter_key=key) for key in keys]
    try:
        with UnitOfWork() as work:
            for item, limit in zip(items, keys.values()):
                work.update(item, actions=[RateCounterModel.attempts.add(1), RateCounterModel.purge_at.set(purge_at)],
                            condition=RateCounterModel.attempts.does_not_exist() | (RateCounterModel.attempts < limit))
    except TransactWriteError as error:
        failed = [key for key, hit in zip(keys, failed_conditions(error)) if hit]
        if not failed:
            raise
        return failed[0]
    return None


def release(keys: list[str]) -> None:
    """Gives reserved attempts back (the password was right): one transaction."""
    with UnitOfWork() as work:
        for key in keys:
            work.update(RateCounterModel(counter_key=key), actions=[RateCounterModel.attempts.add(-1)],
                        condition=RateCounterModel.attempts > 0)

"""Dashboard figures, from counters kept by the writes that change what they count (never a scan)."""
from __future__ import annotations

from pynamodb.transactions import TransactWrite

from chalicelib.persistence.models import UserStatsModel


def stats(user_id: str) -> UserStatsModel:
    try:
        return UserStatsModel.get(user_id)
    except UserStatsModel.DoesNotExist:
        return UserStatsModel(user_id=user_id)


def count_spend(user_id: str, amount: int):
    """Adds to the owner's spend counter, in the transaction that spends."""

    def add(tx: TransactWrite) -> None:
        tx.update(UserStatsModel(user_id=user_id), actions=[UserStatsModel.spend.add(amount)])
    return add

"""Stats tables."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.persistence.base import BaseModel


class UserStatsModel(BaseModel):
    """Dashboard counters, updated in the same writes that change what they count."""

    logical_name = "user_stats"

    class Meta(BaseModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    total_numbers = NumberAttribute(default=0)
    active_numbers = NumberAttribute(default=0)
    orders = NumberAttribute(default=0)
    spend = NumberAttribute(default=0)  # minor units: numbers for a buyer, calls for a seller
    calls_paid = NumberAttribute(default=0)  # a seller's billed calls (spend / calls_paid: its average price)
    auctions_won = NumberAttribute(default=0)  # a seller's (win rate: won / auctions bid, the bids# counter)


class CounterModel(BaseModel):
    """How many items a listing has (e.g. "calls#<owner>", "calls#<owner>#completed"), kept by the
    transactions that add, remove or move them: a list's total is one read, never a count."""

    logical_name = "counters"

    class Meta(BaseModel.Meta):
        pass

    counter_key = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)

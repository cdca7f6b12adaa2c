"""Dashboard figures, from counters kept by the writes that change what they count (never a scan)."""
from __future__ import annotations

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactGet

from chalicelib.caller import Principal
from chalicelib.domain.accounts import SELLER
from chalicelib.persistence import counters
from chalicelib.persistence.db import connection
from chalicelib.persistence.tables import AccountModel, CounterModel, UserStatsModel
from chalicelib.persistence.unit_of_work import UnitOfWork


def stats(user_id: str) -> UserStatsModel:
    try:
        return UserStatsModel.get(user_id)
    except UserStatsModel.DoesNotExist:
        return UserStatsModel(user_id=user_id)


def dashboard(principal: Principal) -> dict:
    """The caller's figures for its role, read in one round trip."""
    user_id = principal.user_id
    first, second = (counters.seller_calls(user_id), counters.bids(user_id)) if principal.account_type == SELLER \
        else (counters.calls(user_id), counters.calls(user_id, "completed"))
    with TransactGet(connection=connection()) as work:
        futures = [work.get(UserStatsModel, user_id), work.get(CounterModel, first), work.get(CounterModel, second),
                   work.get(AccountModel, user_id)]
    user_stats, first_count, second_count, account = (_value(f) for f in futures)
    user_stats = user_stats or UserStatsModel(user_id=user_id)
    first_count, second_count = (int(c.value) if c else 0 for c in (first_count, second_count))
    earnings = int(account.earnings) if account else 0
    spend = int(user_stats.spend)
    if principal.account_type == SELLER:
        won, paid = int(user_stats.auctions_won), int(user_stats.calls_paid)
        return {"role": SELLER, "summary": {
            "calls_won": first_count, "calls_paid": paid, "auctions_bid": second_count, "auctions_won": won,
            "win_rate": round(won / second_count, 4) if second_count else 0.0,
            "spend": spend, "average_price": spend // paid if paid else 0}}
    return {"role": principal.account_type, "summary": {
        "total_numbers": int(user_stats.total_numbers), "active_numbers": int(user_stats.active_numbers),
        "orders": int(user_stats.orders), "total_calls": first_count, "completed_calls": second_count,
        "spend": spend, "earnings": earnings}}


def _value(future):
    try:
        return future.get()
    except DoesNotExist:
        return None


def count_spend(work: UnitOfWork, user_id: str, amount: int) -> None:
    """Adds to the owner's spend counter, in the unit of work that spends."""
    work.update(UserStatsModel(user_id=user_id), actions=[UserStatsModel.spend.add(amount)])


def count_paid_call(work: UnitOfWork, seller_id: str, price: int, calls: int = 1) -> None:
    """A seller's billed call (or, negative, one refunded): its spend and its calls paid, in the
    unit of work that bills (or refunds) it."""
    work.update(UserStatsModel(user_id=seller_id),
                actions=[UserStatsModel.spend.add(price), UserStatsModel.calls_paid.add(calls)])


def count_auction_won(work: UnitOfWork, seller_id: str) -> None:
    work.update(UserStatsModel(user_id=seller_id), actions=[UserStatsModel.auctions_won.add(1)])

"""Who may take a call now: sellers neither suspended nor deactivated whose account can pay the price
(balance + credit limit, what is held already set aside). Routing, auctions and live calls skip anyone
else and take the next, so nobody blocks the market with a bid it cannot pay."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TypeVar

from pynamodb.transactions import TransactGet

from chalicelib.domain.accounts import ACTIVE, effective_status
from chalicelib.domain.terms import CANNOT_PAY, SUSPENDED
from chalicelib.persistence.db import connection
from chalicelib.persistence.tables import AccountModel, UserModel

# Sellers read per round trip: a user and an account each, plus one more account, within one
# TransactGetItems (25 items is the limit moto keeps; DynamoDB's is 100).
SELLERS_PER_READ = 12

Offer = TypeVar("Offer")  # anything with a seller_id: a bid profile, a bid


def judged(offers: list[Offer], price_of: Callable[[Offer], int], now: datetime,
           also_account: str | None = None) -> tuple[Iterator[tuple[Offer, str | None]], int | None]:
    """Each offer, in its order, with why its seller may not take it now (suspended: suspended or
    deactivated; cannot_pay: its account cannot pay the price), or None; and what `also_account` (a
    buyer's) may spend. Sellers are read a few at a time, each batch in one round trip (`also_account`
    with the first), and only as far as the caller iterates."""
    sellers = list(dict.fromkeys(offer.seller_id for offer in offers))
    first = sellers[:SELLERS_PER_READ]
    active, spendable = _read(first, now, also_account)
    also_spendable = spendable.pop(also_account) if also_account else None

    def verdicts() -> Iterator[tuple[Offer, str | None]]:
        read = set(first)
        for offer in offers:
            if offer.seller_id not in read:
                batch = [s for s in sellers if s not in read][:SELLERS_PER_READ]
                more_active, more_spendable = _read(batch, now)
                active.update(more_active)
                spendable.update(more_spendable)
                read.update(batch)
            if offer.seller_id not in active:
                yield offer, SUSPENDED
            elif spendable.get(offer.seller_id, 0) < price_of(offer):
                yield offer, CANNOT_PAY
            else:
                yield offer, None

    return verdicts(), also_spendable


def _read(sellers: list[str], now: datetime, also_account: str | None = None) -> tuple[set[str], dict[str, int]]:
    """Which of the sellers may act, and what each account (and `also_account`) may spend: one round trip."""
    account_ids = [*sellers, *([also_account] if also_account else [])]
    if not account_ids:
        return set(), {}
    with TransactGet(connection=connection()) as tx:
        users = [tx.get(UserModel, seller) for seller in sellers]
        accounts = [tx.get(AccountModel, account_id) for account_id in account_ids]
    active = {seller for seller, user in zip(sellers, users) if _status(user, now) == ACTIVE}
    return active, {account_id: _spendable(account) for account_id, account in zip(account_ids, accounts)}


def _status(user, now: datetime) -> str | None:
    try:
        found = user.get()
    except UserModel.DoesNotExist:
        return None
    return effective_status(found.status, found.suspended_until, now)


def _spendable(account) -> int:
    try:
        return int(account.get().spendable)
    except AccountModel.DoesNotExist:
        return 0

"""The caller's billing account, balance and statement."""
from __future__ import annotations

from datetime import timedelta

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.domain.ledger import EARNINGS_PENDING_DAYS, earnings_split
from chalicelib.persistence.ledger import get_account, list_entries, payouts_since
from chalicelib.persistence.tables import AccountModel
from chalicelib.persistence.pagination import Page
from chalicelib.services.access import listed_user


def account(principal: Principal) -> dict:
    """The caller's account, its earnings split into pending (payouts still in their dispute window, by
    the clock now) and available: computed when read, no job decides it."""
    found = get_account(principal.user_id)
    window = timedelta(days=EARNINGS_PENDING_DAYS)
    pending, available = earnings_split(int(found.earnings), payouts_since(found.account_id, clock.now() - window))
    return {**{name: getattr(found, name) for name in AccountModel.get_attributes()},
            "earnings_pending": pending, "earnings_available": available}


def statement(principal: Principal, page: int, limit: int, next_token: str | None,
              user_id: str | None = None) -> Page:
    """The caller's ledger entries; an admin's are a named user's, or every account's."""
    user = listed_user(principal, user_id)
    return list_entries(user and user.user_id, page, limit, next_token)

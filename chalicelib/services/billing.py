"""The caller's billing account, balance and statement."""
from __future__ import annotations

from chalicelib.caller import Principal
from chalicelib.persistence.ledger import get_account, list_entries
from chalicelib.persistence.tables import AccountModel
from chalicelib.persistence.pagination import Page
from chalicelib.services.access import listed_user


def account(principal: Principal) -> AccountModel:
    return get_account(principal.user_id)


def statement(principal: Principal, page: int, limit: int, next_token: str | None,
              user_id: str | None = None) -> Page:
    """The caller's ledger entries; an admin's are a named user's, or every account's."""
    user = listed_user(principal, user_id)
    return list_entries(user and user.user_id, page, limit, next_token)

"""The caller's billing account, balance and statement."""
from __future__ import annotations

from chalicelib.caller import Principal
from chalicelib.persistence.ledger import get_account, list_entries
from chalicelib.persistence.models import AccountModel
from chalicelib.persistence.pagination import Page


def account(principal: Principal) -> AccountModel:
    return get_account(principal.user_id)


def statement(principal: Principal, page: int, limit: int, next_token: str | None) -> Page:
    return list_entries(principal.user_id, page, limit, next_token)

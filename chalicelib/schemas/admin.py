from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from chalicelib.schemas.billing import BalanceOut, MoneyIn
from chalicelib.schemas.common import PageQuery, SafeText, StrictModel
from chalicelib.schemas.identity import UserOut


class UserListQuery(PageQuery):
    account_type: Literal["buyer", "seller", "admin"] | None = None
    status: Literal["active", "suspended", "deactivated"] | None = None


class SuspendRequest(StrictModel):
    reason: SafeText(500)
    duration_days: int | None = Field(None, ge=1, le=3650, description="Omit for an indefinite suspension")
    notify_user: bool = False


class CreditRequest(StrictModel):
    amount: MoneyIn
    reason: SafeText(500)

    @field_validator("amount")
    @classmethod
    def _positive(cls, value):
        if value <= 0:
            raise PydanticCustomError("amount_not_positive", "Amount must be greater than zero")
        return value


class AdminUserOut(UserOut):
    suspension_reason: str | None
    suspended_until: datetime | None
    billing: BalanceOut | None = None


class CreditOut(StrictModel):
    transaction_id: str
    amount: str
    balance: BalanceOut

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, StrictBool, StrictInt

from chalicelib.schemas.billing import BalanceOut, PositiveMoneyIn
from chalicelib.schemas.common import PageQuery, SafeText, StrictModel
from chalicelib.schemas.identity import UserOut


class UserListQuery(PageQuery):
    account_type: Literal["buyer", "seller", "admin"] | None = None
    status: Literal["active", "suspended", "deactivated"] | None = None


class SuspendRequest(StrictModel):
    reason: SafeText(500)
    duration_days: StrictInt | None = Field(None, ge=1, le=3650, description="Omit for an indefinite suspension")
    notify_user: StrictBool = False


class CreditRequest(StrictModel):
    amount: PositiveMoneyIn
    reason: SafeText(500)


class AdminUserOut(UserOut):
    suspension_reason: str | None
    suspended_until: datetime | None
    billing: BalanceOut | None = None


class CreditOut(StrictModel):
    transaction_id: str
    amount: str
    balance: BalanceOut

"""Wire models of withdrawing earnings: a buyer's payout account (Stripe Connect) and its withdrawals."""
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool

from chalicelib.schemas.admin import IDEMPOTENCY_KEY_RULE, _IDEMPOTENCY_KEY_PATTERN, _idempotency_key
from chalicelib.schemas.billing import MoneyOut, PositiveMoneyIn
from chalicelib.schemas.common import ResponseModel, StrictModel, WireModel

AUTO_WITHDRAW = ("Every week, withdraw everything available (when it is at least 25.00) to the payout account")


class PayoutAccountRequest(StrictModel):
    auto_withdraw: StrictBool | None = Field(None, description=AUTO_WITHDRAW + "; unchanged when left out")


class AutoWithdrawRequest(StrictModel):
    auto_withdraw: StrictBool = Field(description=AUTO_WITHDRAW)


class PayoutAccountOut(ResponseModel):
    stripe_account_id: str | None = Field(description="The Stripe Connect Express account; null until connected")
    payouts_enabled: bool = Field(description="Stripe pays out to the account (read from Stripe): withdrawals "
                                              "wait for this")
    onboarding_url: str | None = Field(description="While payouts are not enabled: Stripe's onboarding page for "
                                                   "the account's holder (a fresh link, valid a few minutes)")
    auto_withdraw: bool = Field(description=AUTO_WITHDRAW)


class WithdrawalRequest(StrictModel):
    amount: PositiveMoneyIn = Field(description="USD, at least 25.00, in whole cents, at most the available "
                                                "earnings (GET /account/balance earnings_available)")


class WithdrawalHeaders(WireModel):
    """Headers of POST /billing/withdrawals."""

    idempotency_key: Annotated[str, AfterValidator(_idempotency_key)] = Field(
        alias="Idempotency-Key",
        description=("Required. A retry with the same key is the same withdrawal (one posting, one Stripe "
                     "transfer); the same key with another amount is 409 IDEMPOTENCY_KEY_REUSED. "
                     + IDEMPOTENCY_KEY_RULE + "."),
        json_schema_extra={"minLength": 1, "maxLength": 255, "pattern": _IDEMPOTENCY_KEY_PATTERN})


class WithdrawalOut(ResponseModel):
    id: str = Field(validation_alias="withdrawal_id")
    amount: MoneyOut
    status: Literal["pending", "paid", "failed"] = Field(description=(
        "pending: taken from the earnings, the Stripe transfer not made yet; paid: transferred to the payout "
        "account; failed: Stripe refused or reversed the transfer, and the amount is back in the earnings"))
    transfer_id: str | None = Field(description="The Stripe transfer (tr_…)")
    failure_code: str | None = Field(None, description="Why it failed: Stripe's error code, or transfer_reversed")
    automatic: bool = Field(description="Made by the weekly auto-withdrawal")
    created_at: datetime

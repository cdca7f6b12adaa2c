from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, PlainSerializer

from chalicelib.domain.money import format_money
from chalicelib.schemas.common import ResponseModel

# Integer minor units inside, a decimal string on the wire ("12.50").
MoneyOut = Annotated[int, PlainSerializer(format_money, return_type=str, when_used="always"),
                     Field(json_schema_extra={"type": "string", "pattern": r"^-?\d+\.\d{2,4}$"})]


# Request bodies are parsed with Decimal for numbers, so 12.5 arrives exact; "12.50" works too.
MoneyIn = Annotated[
    Decimal,
    Field(max_digits=14, decimal_places=4, description="USD amount with up to 4 decimal places"),
]


class BillingAccountOut(ResponseModel):
    account_id: str
    currency: Literal["USD"]
    balance: MoneyOut
    earnings: MoneyOut
    credit_limit: MoneyOut
    available: MoneyOut = Field(validation_alias="spendable", description="balance + credit_limit")
    created_at: datetime


class BalanceOut(ResponseModel):
    currency: Literal["USD"]
    balance: MoneyOut
    earnings: MoneyOut
    credit_limit: MoneyOut
    available: MoneyOut = Field(validation_alias="spendable")


class LedgerEntryOut(ResponseModel):
    transaction_id: str
    kind: str
    description: str
    bucket: Literal["balance", "earnings"]
    amount: MoneyOut
    reference: str | None
    created_at: datetime

"""Money on the wire, and the billing account's models."""
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from chalicelib.domain.ledger import BUCKETS
from chalicelib.domain.money import CURRENCY, ExponentNumber, format_money
from chalicelib.schemas.common import ResponseModel

# Integer minor units inside, a decimal string on the wire ("12.50").
MoneyOut = Annotated[int, PlainSerializer(format_money, return_type=str, when_used="always"),
                     Field(json_schema_extra={"type": "string", "pattern": r"^-?\d+\.\d{2,4}$"})]


# [0-9], never \d: Decimal() reads any script's digits, and "1_000", "1e2", " 5 ", "+3", ".5" and "5." too.
_AMOUNT_FORM = re.compile(r"-?[0-9]+(?:\.[0-9]{1,4})?")


def _documented_form(value: object) -> object:
    """Money only in its documented forms: a decimal string of ASCII digits with at most 4 places, or a JSON
    number without an exponent. Anything else Decimal() would read is refused, not taken for an amount."""
    if (isinstance(value, str) and not _AMOUNT_FORM.fullmatch(value)) or isinstance(value, ExponentNumber):
        raise PydanticCustomError("invalid_amount", "Must be an amount like \"12.50\": digits 0-9, at most 4 "
                                                    "decimal places, no exponent")
    return value


# Request bodies are parsed with Decimal for numbers, so 12.5 arrives exact; "12.50" works too. Both
# are documented: a decimal string (what we recommend) or a JSON number (what the seeds send), at most 4
# decimal places either way.
def money_in(pattern: str, description: str, *, maximum: int, exclusive_minimum: bool = False) -> WithJsonSchema:
    lowest = {"exclusiveMinimum": 0} if exclusive_minimum else {"minimum": 0}
    return WithJsonSchema({"anyOf": [{"type": "string", "pattern": pattern},
                                     {"type": "number", **lowest, "maximum": maximum}],
                           "description": description})


_POSITIVE = r"^(?:[1-9]\d{0,9}(?:\.\d{1,4})?|0\.(?:[1-9]\d{0,3}|0[1-9]\d{0,2}|00[1-9]\d?|000[1-9]))$"
PositiveMoneyIn = Annotated[
    Decimal,
    BeforeValidator(_documented_form),
    Field(gt=0, max_digits=14, decimal_places=4),
    money_in(_POSITIVE, "USD amount greater than zero, up to 4 decimal places, e.g. \"12.50\"",
             maximum=9_999_999_999, exclusive_minimum=True),
]
NonNegativeMoneyIn = Annotated[
    Decimal,
    BeforeValidator(_documented_form),
    Field(ge=0, max_digits=14, decimal_places=4),
    money_in(r"^\d{1,10}(?:\.\d{1,4})?$", "USD amount, zero or more, up to 4 decimal places",
             maximum=9_999_999_999),
]
CreditLimitIn = Annotated[
    Decimal,
    BeforeValidator(_documented_form),
    Field(ge=0, le=1_000_000, max_digits=11, decimal_places=4),
    money_in(r"^(?:(?:0|[1-9]\d{0,5})(?:\.\d{1,4})?|1000000(?:\.0{1,4})?)$",
             "USD the account may go below zero, 0 to 1,000,000, e.g. \"250.00\"", maximum=1_000_000),
]


class BillingAccountOut(ResponseModel):
    account_id: str
    user_id: str | None = Field(validation_alias="owner_id", description="Its owner (the account_id, for a user's)")
    currency: Literal[CURRENCY]
    balance: MoneyOut
    earnings: MoneyOut
    held: MoneyOut = Field(0, description="set aside for numbers being bought and calls being routed")
    credit_limit: MoneyOut
    available: MoneyOut = Field(validation_alias="spendable", description="balance + credit_limit")
    created_at: datetime


class BalanceOut(ResponseModel):
    currency: Literal[CURRENCY]
    balance: MoneyOut
    earnings: MoneyOut
    held: MoneyOut = Field(0, description="set aside for numbers being bought and calls being routed")
    credit_limit: MoneyOut
    available: MoneyOut = Field(validation_alias="spendable")


class AccountBalanceOut(BalanceOut):
    """The caller's own balance: its earnings split by the dispute window."""

    earnings_pending: MoneyOut = Field(description=(
        "Payouts of calls settled within the last 7 days (their dispute window): not yet withdrawable"))
    earnings_available: MoneyOut = Field(description=(
        "earnings less earnings_pending: what may be withdrawn (negative after a reversal took back more "
        "than was left)"))


class LedgerEntryOut(ResponseModel):
    transaction_id: str
    kind: str
    description: str
    bucket: Literal[BUCKETS]
    amount: MoneyOut
    reference: str | None
    created_at: datetime

"""Wire models of the admin routes: user lists, suspensions, credits."""
import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AliasChoices, Field, StrictBool, StrictInt
from pydantic_core import PydanticCustomError

from chalicelib.domain.accounts import ACCOUNT_TYPES, STATUSES
from chalicelib.schemas.billing import BalanceOut, CreditLimitIn, MoneyOut, PositiveMoneyIn
from chalicelib.schemas.common import PageQuery, ResponseModel, SafeText, StrictModel, WireModel
from chalicelib.schemas.identity import UserOut


class UserListQuery(PageQuery):
    account_type: Literal[ACCOUNT_TYPES] | None = None
    status: Literal[STATUSES] | None = None
    q: SafeText(100) | None = Field(None, description="Part of the email (any case), first or last name (as "
                                    "typed, or capitalised): the admin console's search")


class SuspendRequest(StrictModel):
    reason: SafeText(500)
    duration_days: StrictInt | None = Field(
        None, ge=1, le=3650, validation_alias=AliasChoices("duration_days", "duration"),
        description="Days the suspension lasts; omit for an indefinite suspension. "
                    "`duration` (days) is accepted as another name for it (send one of the two).")
    notify_user: StrictBool = Field(False, description="Tell the user by a notification, with the reason")


class UserUpdate(StrictModel):
    credit_limit: CreditLimitIn | None = Field(None, description="How far below zero the balance may go")
    active: StrictBool | None = Field(None, description=(
        "false deactivates the account (login refused, every session revoked); true activates it again "
        "(a suspension ends too)"))


class CreditRequest(StrictModel):
    amount: PositiveMoneyIn
    reason: SafeText(500)


def _idempotency_key(value: str | None) -> str | None:
    if value is not None and not _IDEMPOTENCY_KEY.fullmatch(value):
        raise PydanticCustomError("invalid_idempotency_key", IDEMPOTENCY_KEY_RULE)
    return value


IDEMPOTENCY_KEY_RULE = "Idempotency-Key must be 1 to 255 printable ASCII characters"
# Inner spaces only: HTTP drops a header value's surrounding whitespace, so a key cannot rely on it.
_IDEMPOTENCY_KEY_PATTERN = r"^[!-~](?:[ -~]{0,253}[!-~])?$"
_IDEMPOTENCY_KEY = re.compile(_IDEMPOTENCY_KEY_PATTERN)


class CreditHeaders(WireModel):
    """Headers of POST /admin/users/{user_id}/credits."""

    idempotency_key: Annotated[str, AfterValidator(_idempotency_key)] = Field(
        alias="Idempotency-Key",
        description=("Required. Retries with the same key credit once; the same key with another body is 409 "
                     "IDEMPOTENCY_KEY_REUSED. " + IDEMPOTENCY_KEY_RULE + "."),
        json_schema_extra={"minLength": 1, "maxLength": 255, "pattern": _IDEMPOTENCY_KEY_PATTERN})


class AdminUserOut(UserOut):
    suspension_reason: str | None
    suspended_until: datetime | None
    billing: BalanceOut | None = None


class CreditOut(StrictModel):
    transaction_id: str
    amount: str
    balance: BalanceOut


class PlatformAccountOut(ResponseModel):
    account_id: str
    balance: MoneyOut
    earnings: MoneyOut
    held: MoneyOut


class BucketTotalsOut(ResponseModel):
    balance: MoneyOut
    earnings: MoneyOut
    held: MoneyOut


class AdminLedgerOut(ResponseModel):
    platform_accounts: list[PlatformAccountOut] = Field(description=(
        "The exchange's own side of every posting: funding (credits granted), revenue (fees and take), "
        "telephony (carrier cost)"))
    totals: BucketTotalsOut = Field(description=(
        "Each bucket summed over every account, users' and platform's, as kept by every posting in its own "
        "transaction (POST /admin/ledger/audit sums the accounts themselves and compares). One bucket alone "
        "need not be zero: a settled call moves money from a seller's held to a buyer's earnings"))
    sum: MoneyOut = Field(description="All buckets of all accounts together: 0.00 when the books balance")
    balanced: bool
    accounts: int = Field(description="Accounts the books hold: one per user, and the platform's own")
    snapshot: bool = Field(description=(
        "True when two reads in a row found no posting in between, so the sums are of one moment"))
    open_holds: MoneyOut = Field(description=(
        "What the open holds hold: the price of every routed call not ended, and every unfinished number order"))
    holds_match: bool = Field(description=(
        "True when every account's held money summed is exactly open_holds: no money is held for nothing"))


class LedgerAuditOut(ResponseModel):
    status: Literal["queued"]
    requested_at: datetime


class HoldListQuery(StrictModel):
    limit: int = Field(50, ge=1, le=500, description="How many of the oldest open holds")


class HoldOut(ResponseModel):
    call_id: str
    status: str
    source: str
    buyer_id: str
    seller_id: str | None = Field(description="None while a live call is between two sellers (nothing held)")
    held: MoneyOut | None
    held_since: datetime
    age_seconds: int
    due_at: datetime = Field(description="When the hold job ends the call if nothing else has")


class ReleaseRequest(StrictModel):
    reason: SafeText(500)

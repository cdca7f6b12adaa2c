"""Wire models of real-time bidding: an inbound ping and its answer, and the admins' view of the pool."""
from datetime import datetime
from typing import Literal

from pydantic import Field

from chalicelib.domain import rtb
from chalicelib.schemas.billing import MoneyOut
from chalicelib.schemas.common import PhoneNumber, ResponseModel, SafeText, StrictModel
from chalicelib.schemas.exchange import Keyword, StateCode


class RtbPingRequest(StrictModel):
    from_number: PhoneNumber = Field(description="The caller on the line (E.164)")
    state: StateCode | None = Field(None, description="The caller's state, if known (else the number's)")
    zip: str | None = Field(None, pattern=r"^[0-9]{5}(-[0-9]{4})?$", description="The caller's ZIP code, if known")
    call_type: SafeText(50) | None = None
    keywords: list[Keyword] = Field(default_factory=list, max_length=20)


class RtbPingOut(ResponseModel):
    """A bid (bid_id, bid_amount, phone_number, expire_in_seconds) or no bid (bid_amount 0.00, reject_reason)."""

    bid_id: str | None = Field(None, description="The bid (null: no bid)")
    bid_amount: MoneyOut = Field(description=(
        "What you would earn for the call: the seller's price less the platform's take (telephony comes out "
        "of it as for any call); 0.00: no bid"))
    phone_number: str | None = Field(None, description="The exchange number to send the call to, from this caller")
    expire_in_seconds: int | None = Field(None, description="The bid holds until then; a call after it is refused")
    reject_reason: Literal[rtb.REJECT_REASONS] | None = Field(None, description="Why there is no bid")


class PoolReservationOut(ResponseModel):
    bid_id: str
    caller: str
    buyer_id: str
    seller_id: str
    profile_id: str
    price: MoneyOut = Field(description="What the seller pays, held while the reservation lives")
    bid_amount: MoneyOut = Field(description="What the buyer earns")
    expires_at: datetime
    expired: bool = Field(description="Past its expiry, not yet released (the hold job releases it)")


class PoolNumberOut(ResponseModel):
    phone_number: str
    number_id: str
    added_at: datetime
    reservations: list[PoolReservationOut] = Field(description="Its live reservations")

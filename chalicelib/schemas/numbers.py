"""Wire models of the number store: search, orders, numbers, the dashboard."""
from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.domain.compliance import is_region
from chalicelib.domain.money import CURRENCY
from chalicelib.domain.numbers import (
    ACTIVE, CUSTOM, ITEM_FAILED, ITEM_PENDING, ITEM_SUCCESS, KINDS, MAX_PER_ORDER, ORDER_COMPLETED, ORDER_FAILED,
    ORDER_PARTIAL, ORDER_PENDING, RELEASED, ROUTINGS,
)
from chalicelib.schemas.billing import MoneyOut
from chalicelib.schemas.common import PhoneNumber, ResponseModel, SafeText, StrictModel, UserPageQuery
from chalicelib.schemas.urls import PublicHttpsUrl

NumberKind = Literal[KINDS]
NumberRouting = Literal[ROUTINGS]  # where a number's calls go


class NumberSearchQuery(StrictModel):
    country_code: str = Field("US", pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    area_code: str | None = Field(None, pattern=r"^[2-9][0-9]{2}$")
    contains: str | None = Field(None, pattern=r"^[0-9*]{2,10}$", description="Digits; * matches any digit")
    type: NumberKind = "local"
    limit: int = Field(20, ge=1, le=50)

    @field_validator("country_code")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if not is_region(value):
            raise PydanticCustomError("unknown_country", "Unknown country code")
        return value


class VoiceConfiguration(StrictModel):
    routing: NumberRouting = Field(
        CUSTOM, description="custom: calls go to voice_url; exchange: calls are auctioned on the exchange")
    voice_url: PublicHttpsUrl | None = Field(None, description="Where Twilio sends calls when routing is custom")
    voice_method: Literal["GET", "POST"] = "POST"
    call_type: SafeText(50) | None = Field(None, description="Category of the calls, for exchange routing")


class PurchaseItem(StrictModel):
    phone_number: PhoneNumber
    friendly_name: SafeText(64)
    configuration: VoiceConfiguration | None = None


class PurchaseRequest(StrictModel):
    numbers: list[PurchaseItem] = Field(min_length=1, max_length=MAX_PER_ORDER)

    @model_validator(mode="after")
    def _no_duplicates(self) -> "PurchaseRequest":
        numbers = [item.phone_number for item in self.numbers]
        if len(set(numbers)) != len(numbers):
            raise PydanticCustomError("duplicate_numbers", "Each number may appear only once in an order")
        return self


class NumberUpdate(StrictModel):
    friendly_name: SafeText(64) | None = None
    routing: NumberRouting | None = None
    voice_url: PublicHttpsUrl | None = None
    voice_method: Literal["GET", "POST"] | None = None
    call_type: SafeText(50) | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> "NumberUpdate":
        if not self.model_fields_set:
            raise PydanticCustomError("empty_update", "Nothing to update")
        return self


NumberStatus = Literal[ACTIVE, RELEASED]


class NumberListQuery(UserPageQuery):
    status: NumberStatus | None = Field(None, description="ACTIVE or RELEASED (any case)")
    search: str | None = Field(None, pattern=r"^[0-9]{1,15}$", description="Digits the number contains")

    @field_validator("status", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class CapabilitiesOut(ResponseModel):
    voice: bool
    sms: bool
    mms: bool


class PricingOut(ResponseModel):
    monthly_price: MoneyOut
    setup_price: MoneyOut
    currency: Literal[CURRENCY]


class AvailableNumberOut(ResponseModel):
    phone_number: str
    friendly_name: str | None
    locality: str | None
    region: str | None
    iso_country: str | None
    country_code: str = Field(description="ISO 3166-1 alpha-2 (iso_country, or the country searched)")
    capabilities: CapabilitiesOut = Field(description="What the number can carry, as Twilio reports it")
    number_type: NumberKind
    setup_price: MoneyOut
    monthly_price: MoneyOut
    pricing: PricingOut = Field(description="The same prices with their currency")


class NumberOut(ResponseModel):
    id: str = Field(validation_alias="number_id")
    phone_number: str
    friendly_name: str
    number_type: NumberKind
    country_code: str
    region: str | None
    locality: str | None
    status: NumberStatus
    routing: NumberRouting
    voice_url: str | None
    voice_method: Literal["GET", "POST"]
    call_type: str | None
    setup_price: MoneyOut
    monthly_price: MoneyOut
    order_id: str
    fee_due_since: datetime | None = Field(None, description=(
        "Set while a monthly fee the balance could not pay suspends the number: callers hear that it is "
        "unavailable, and the fee is charged again each day until the balance can pay it"))
    created_at: datetime
    released_at: datetime | None


ItemStatus = Literal[ITEM_PENDING, ITEM_SUCCESS, ITEM_FAILED]


class OrderItemOut(ResponseModel):
    phone_number: str
    friendly_name: str
    status: ItemStatus
    number_id: str | None = None
    error_code: int | None = None
    reason: str | None = None


class OrderResultOut(ResponseModel):
    """One number of an order: PENDING while it is bought in the background, then SUCCESS (with the number's
    id) or FAILED (with Twilio's reason as `error`)."""

    phone_number: str
    status: ItemStatus
    error: str | None = None
    number_id: str | None = None


class OrderOut(ResponseModel):
    id: str = Field(validation_alias="order_id", description="The order's id (the same as order_id)")
    order_id: str
    status: Literal[ORDER_PENDING, ORDER_COMPLETED, ORDER_PARTIAL, ORDER_FAILED]
    results: list[OrderResultOut] = Field(
        description="Each number's outcome, in the order's order. A purchase answers with every result "
                    "PENDING; the order shows each SUCCESS or FAILED once it is bought.")
    items: list[OrderItemOut] = Field(
        description="The same numbers with their friendly_name and Twilio's error_code and reason")
    total_price: MoneyOut
    created_at: datetime
    completed_at: datetime | None
    numbers: list[NumberOut] | None = None


class BuyerSummaryOut(ResponseModel):
    total_numbers: int
    active_numbers: int
    orders: int
    total_calls: int = Field(description="Calls brought, in any status")
    completed_calls: int
    spend: MoneyOut = Field(description="Paid for numbers (setup and monthly fees)")
    earnings: MoneyOut = Field(description="Payouts accrued from sold calls, after the take and telephony")


class SellerSummaryOut(ResponseModel):
    calls_won: int = Field(description="Calls routed to the seller (instantly or as an auction's winner)")
    calls_paid: int = Field(description="Of those, the completed, billable calls it paid for")
    auctions_bid: int = Field(description="Auctions with a standing bid of the seller")
    auctions_won: int
    win_rate: float = Field(description="auctions_won / auctions_bid (0 before any bid)")
    spend: MoneyOut = Field(description="Paid for calls")
    average_price: MoneyOut = Field(description="spend / calls_paid")


class DashboardOut(ResponseModel):
    role: Literal["buyer", "seller", "admin"]
    summary: BuyerSummaryOut | SellerSummaryOut


class ProvisionMessage(StrictModel):
    """Body of a message on the number-provisioning queue."""

    order_id: str = Field(pattern=r"^[0-9a-f-]{36}$")

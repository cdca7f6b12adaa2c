"""Wire models of funding a balance by card (Stripe): cards, top-ups, auto-recharge, Stripe's webhook."""
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StrictBool

from chalicelib.schemas.admin import IDEMPOTENCY_KEY_RULE, _IDEMPOTENCY_KEY_PATTERN, _idempotency_key
from chalicelib.schemas.billing import MoneyOut, NonNegativeMoneyIn, PositiveMoneyIn
from chalicelib.schemas.common import ResponseModel, StrictModel, WireModel

# A Stripe PaymentMethod id (pm_…), as Stripe.js makes one in the browser; Stripe's test ids (pm_card_visa) too.
PaymentMethodId = Annotated[str, Field(pattern=r"^pm_[A-Za-z0-9_]{1,100}$", description="A Stripe PaymentMethod id (pm_…)")]
TOP_UP_RULE = "10.00 to 10,000.00, in whole cents"


class AddPaymentMethodRequest(StrictModel):
    payment_method: PaymentMethodId = Field(description=(
        "A PaymentMethod made by Stripe.js in the browser (a card number never reaches us); in test mode "
        "Stripe's test ids: pm_card_visa, pm_card_mastercard, pm_card_chargeDeclined, "
        "pm_card_chargeDeclinedInsufficientFunds, pm_card_authenticationRequired"))


class PaymentMethodOut(ResponseModel):
    payment_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


class TopUpRequest(StrictModel):
    amount: PositiveMoneyIn = Field(description=f"USD, {TOP_UP_RULE}")
    payment_method_id: PaymentMethodId


class TopUpHeaders(WireModel):
    """Headers of POST /billing/top-ups."""

    idempotency_key: Annotated[str, AfterValidator(_idempotency_key)] = Field(
        alias="Idempotency-Key",
        description=("Required. A retry with the same key is the same top-up (one PaymentIntent at Stripe); the "
                     "same key with another body is 409 IDEMPOTENCY_KEY_REUSED. " + IDEMPOTENCY_KEY_RULE + "."),
        json_schema_extra={"minLength": 1, "maxLength": 255, "pattern": _IDEMPOTENCY_KEY_PATTERN})


class TopUpOut(ResponseModel):
    id: str = Field(validation_alias="top_up_id")
    amount: MoneyOut
    status: Literal["processing", "requires_action", "succeeded", "failed"] = Field(description=(
        "succeeded: credited to the balance; processing: Stripe has not said yet; requires_action: the card "
        "holder must authenticate (3-D Secure) with client_secret; failed: declined"))
    payment_intent_id: str | None
    payment_method_id: str
    client_secret: str | None = Field(None, description="Only while status is requires_action (Stripe.js "
                                                        "handleNextAction)")
    decline_code: str | None = None
    automatic: bool = Field(description="Started by auto-recharge")
    created_at: datetime


class AutoRechargeRequest(StrictModel):
    enabled: StrictBool
    below: NonNegativeMoneyIn = Field(description="A posting that takes the balance under this starts a top-up")
    amount: PositiveMoneyIn = Field(description=f"The top-up's amount, {TOP_UP_RULE}")
    payment_method_id: PaymentMethodId


class AutoRechargeOut(ResponseModel):
    enabled: bool = Field(validation_alias="auto_recharge_enabled")
    below: MoneyOut | None = Field(validation_alias="recharge_below")
    amount: MoneyOut | None = Field(validation_alias="recharge_amount")
    payment_method_id: str | None = Field(validation_alias="recharge_payment_method_id")
    in_flight: bool = Field(description="An automatic top-up is under way")
    last_failure: str | None = Field(validation_alias="recharge_failure",
                                     description="Why auto-recharge was turned off (Stripe's decline code)")
    owed: MoneyOut = Field(description="How far the account is past its credit limit (refunds and chargebacks "
                                       "taken back): it cannot bid until a top-up pays this")


class StripeEvent(WireModel):
    """What Stripe posts (an Event): any JSON object here, read only once its Stripe-Signature is checked against
    the raw body (a forged or stale one is 400 INVALID_SIGNATURE, whatever it holds)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "description": "A Stripe Event: id, type (payment_intent.succeeded, payment_intent.payment_failed, "
                       "charge.refunded, charge.dispute.created are acted on), data.object"})


class WebhookReceived(StrictModel):
    received: bool

"""Funding tables: a user's Stripe customer and auto-recharge setting, and their card top-ups."""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UTCDateTimeAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.persistence.base import BaseModel


class BillingProfileModel(BaseModel):
    """A user's side of Stripe: its customer and its auto-recharge."""

    logical_name = "billing_profiles"

    class Meta(BaseModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    stripe_customer_id = UnicodeAttribute(null=True)
    auto_recharge_enabled = BooleanAttribute(default=False)
    recharge_below = NumberAttribute(null=True)  # minor units
    recharge_amount = NumberAttribute(null=True)
    recharge_payment_method_id = UnicodeAttribute(null=True)
    # The automatic top-up under way (its id), if any: set by a conditional write, so never two at once.
    recharge_in_flight = UnicodeAttribute(null=True)
    recharge_failure = UnicodeAttribute(null=True)  # why auto-recharge was last turned off (a decline code)
    updated_at = UTCDateTimeAttribute(null=True)


class TopUpsByTime(GlobalSecondaryIndex):
    """A user's top-ups in time order: GET /billing/top-ups pages through it, newest first."""

    class Meta:
        index_name = "by_time"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TopUpModel(BaseModel):
    """A card top-up: one PaymentIntent at Stripe (its idempotency key is the top-up's id)."""

    logical_name = "top_ups"

    class Meta(BaseModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    top_up_id = UnicodeAttribute(range_key=True)  # from the user's Idempotency-Key (uuid5), or new (automatic)
    amount = NumberAttribute()
    payment_method_id = UnicodeAttribute()
    status = UnicodeAttribute()  # creating | processing | requires_action | succeeded | failed
    automatic = BooleanAttribute(default=False)
    payment_intent_id = UnicodeAttribute(null=True)
    client_secret = UnicodeAttribute(null=True)
    decline_code = UnicodeAttribute(null=True)
    credited = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    by_time = TopUpsByTime()

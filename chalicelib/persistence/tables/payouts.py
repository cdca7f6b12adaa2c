"""Payout tables: a buyer's Stripe Connect account (where its earnings are withdrawn to) and its withdrawals."""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UTCDateTimeAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.persistence.base import BaseModel

AUTO_WITHDRAW_ON = "ON"  # the auto_withdraw_key prefix (in shards, by user id)


class AutoWithdrawAccounts(GlobalSecondaryIndex):
    """Sparse: payout accounts with auto_withdraw on, for the weekly job (never a request path)."""

    class Meta:
        index_name = "auto_withdraw"
        projection = KeysOnlyProjection()

    auto_withdraw_key = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)


class PayoutAccountModel(BaseModel):
    """A buyer's Stripe Connect Express account, and whether Stripe pays out to it yet."""

    logical_name = "payout_accounts"

    class Meta(BaseModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    stripe_account_id = UnicodeAttribute()
    payouts_enabled = BooleanAttribute(default=False)  # as Stripe last said (its account, account.updated)
    auto_withdraw = BooleanAttribute(default=False)
    auto_withdraw_key = UnicodeAttribute(null=True)  # AUTO_WITHDRAW_ON while auto_withdraw (the sparse index)
    # Moved by every withdrawal, conditional on the value read before its check of the available earnings:
    # two withdrawals of one user never both pass the check on the same reading.
    withdrawal_count = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    auto_withdraw_accounts = AutoWithdrawAccounts()


class WithdrawalsByTime(GlobalSecondaryIndex):
    """A user's withdrawals in time order: GET /billing/withdrawals pages through it, newest first."""

    class Meta:
        index_name = "by_time"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class WithdrawalModel(BaseModel):
    """Earnings withdrawn: one Stripe transfer (its idempotency key and transfer_group are the withdrawal's id)."""

    logical_name = "withdrawals"

    class Meta(BaseModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    withdrawal_id = UnicodeAttribute(range_key=True)  # from the user's Idempotency-Key (uuid5), or the job's
    amount = NumberAttribute()  # minor units
    status = UnicodeAttribute()  # pending | paid | failed
    automatic = BooleanAttribute(default=False)
    transfer_id = UnicodeAttribute(null=True)
    failure_code = UnicodeAttribute(null=True)  # Stripe's refusal code, or transfer_reversed
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    by_time = WithdrawalsByTime()

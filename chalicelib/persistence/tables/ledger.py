"""Ledger tables."""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UTCDateTimeAttribute, UnicodeAttribute

from chalicelib.persistence.base import BaseModel, EVERYTHING, everything_index


class AccountModel(BaseModel):
    """A billing account. Amounts are integer minor units (1/10,000 USD)."""

    logical_name = "accounts"

    class Meta(BaseModel.Meta):
        pass

    account_id = UnicodeAttribute(hash_key=True)
    owner_id = UnicodeAttribute(null=True)  # user id; None for platform accounts
    currency = UnicodeAttribute(default="USD")
    balance = NumberAttribute(default=0)
    earnings = NumberAttribute(default=0)
    held = NumberAttribute(default=0)  # set aside from balance for what is bought but not yet delivered
    credit_limit = NumberAttribute(default=0)
    # balance + credit_limit, kept beside them so "may this debit happen" is one write condition.
    spendable = NumberAttribute(default=0)
    entry_count = NumberAttribute(default=0)  # ledger entries of the account (its statement's total)
    # The auto-recharge mark while auto-recharge is on (its source is the billing profile): read with the
    # balance after a debit, so only an account under its mark costs the auto-recharge worker a message.
    recharge_below = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    listing = UnicodeAttribute(default=EVERYTHING)

    everything = everything_index("created_at")  # the books (GET /admin/ledger) sum every account


class LedgerTransactionModel(BaseModel):
    """A balanced posting, keyed by its idempotency key so a retry cannot post twice."""

    logical_name = "ledger_transactions"

    class Meta(BaseModel.Meta):
        pass

    idempotency_key = UnicodeAttribute(hash_key=True)
    transaction_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    description = UnicodeAttribute()
    reference = UnicodeAttribute(null=True)
    entries = JSONAttribute()  # [{"account_id", "bucket", "amount"}]
    created_at = UTCDateTimeAttribute()


class LedgerEntryModel(BaseModel):
    """One leg of a posting, listed per account (the account's statement)."""

    logical_name = "ledger_entries"

    class Meta(BaseModel.Meta):
        pass

    account_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)  # "<created_at iso>#<transaction_id>#<leg>"
    transaction_id = UnicodeAttribute()
    bucket = UnicodeAttribute()  # balance | earnings | held
    amount = NumberAttribute()  # signed minor units: + credits the account, - debits it
    kind = UnicodeAttribute()
    description = UnicodeAttribute()
    reference = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    listing = UnicodeAttribute(default=EVERYTHING)

    everything = everything_index("entry_key", UnicodeAttribute)

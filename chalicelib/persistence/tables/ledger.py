"""Ledger tables."""
from __future__ import annotations

from pynamodb.attributes import JSONAttribute, NumberAttribute, UTCDateTimeAttribute, UnicodeAttribute

from pynamodb.indexes import KeysOnlyProjection

from chalicelib.persistence.base import BaseModel, EVERYTHING, everything_index


class AccountModel(BaseModel):
    """A billing account. Amounts are integer minor units (1/10,000 USD)."""

    logical_name = "accounts"
    sharded_keys = {"listing": EVERYTHING}

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
    listing = UnicodeAttribute()  # "ALL#<shard>": set from the item's key (BaseModel.sharded_keys)

    # Every account, keys only (a balance's change does not write it): what the audit (POST /admin/ledger/audit)
    # reads, then sums from the accounts themselves.
    everything = everything_index("created_at", projection=KeysOnlyProjection)


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
    sharded_keys = {"listing": EVERYTHING}
    sharded_by = "entry_key"  # each entry on its own: a busy account's entries spread over every shard

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
    listing = UnicodeAttribute()  # "ALL#<shard>": set from the item's key (BaseModel.sharded_keys)

    everything = everything_index("entry_key", UnicodeAttribute)


class LedgerTotalsModel(BaseModel):
    """The books' totals in shards: each posting adds, in its own transaction, its legs' amounts by bucket and
    its entry count to one shard ("totals#<k>", by a hash of its idempotency key). GET /admin/ledger sums the
    shards instead of reading every account; the audit (POST /admin/ledger/audit) sums every account and
    compares."""

    logical_name = "ledger_totals"

    class Meta(BaseModel.Meta):
        pass

    shard = UnicodeAttribute(hash_key=True)  # "totals#<k>"
    balance = NumberAttribute(default=0)
    earnings = NumberAttribute(default=0)
    held = NumberAttribute(default=0)
    entry_count = NumberAttribute(default=0)  # ledger entries posted (the admin statement's total)
    postings = NumberAttribute(default=0)  # moves with every posting: two equal reads in a row are one moment

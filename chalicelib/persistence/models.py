"""Every table, key, index and TTL of the product, as PynamoDB models.

infra/resources.json is generated from these classes (see chalicelib/persistence/infra.py), and the
local runtime and tests create their tables from them, so the three cannot drift.
"""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    ListAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.attributes import TTLAttribute


class BaseModel(Model):
    """Table names and endpoints are bound at run time by persistence.configure()."""

    class Meta:
        table_name = None
        billing_mode = "PAY_PER_REQUEST"

    # Logical table name: the physical one is settings.table_name(logical).
    logical_name: str = ""


# --- identity -------------------------------------------------------------------------------

class UsersByType(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_type"
        projection = AllProjection()

    account_type = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class AllUsers(GlobalSecondaryIndex):
    class Meta:
        index_name = "all_users"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TimedSuspensions(GlobalSecondaryIndex):
    """Sparse: only users whose suspension ends at a known time are in it."""

    class Meta:
        index_name = "timed_suspensions"
        projection = KeysOnlyProjection()

    suspension_key = UnicodeAttribute(hash_key=True)
    suspended_until = UTCDateTimeAttribute(range_key=True)


class UserModel(BaseModel):
    logical_name = "users"

    class Meta(BaseModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="USER")
    email = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    company = UnicodeAttribute(null=True)
    account_type = UnicodeAttribute()  # buyer | seller | admin
    status = UnicodeAttribute(default="active")  # active | suspended | deactivated
    email_verified = BooleanAttribute(default=False)
    suspension_reason = UnicodeAttribute(null=True)
    suspended_at = UTCDateTimeAttribute(null=True)
    suspended_until = UTCDateTimeAttribute(null=True)
    suspension_key = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    last_login_at = UTCDateTimeAttribute(null=True)

    by_type = UsersByType()
    all_users = AllUsers()
    timed_suspensions = TimedSuspensions()


class EmailClaimModel(BaseModel):
    """One item per email: makes email uniqueness a create-only conditional write."""

    logical_name = "emails"

    class Meta(BaseModel.Meta):
        pass

    email = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()


class SessionsByUser(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class SessionModel(BaseModel):
    """A login: the family of refresh tokens rotated from it. Only token hashes are stored."""

    logical_name = "sessions"

    class Meta(BaseModel.Meta):
        pass

    session_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    # Hashes of the last rotated-away tokens: presenting one again is reuse (theft) and revokes the family.
    previous_hashes = ListAttribute(of=UnicodeAttribute, default=list)
    generation = NumberAttribute(default=0)
    revoked = BooleanAttribute(default=False)
    revoked_reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    # DynamoDB deletes the item some time after this; the code never relies on it.
    purge_at = TTLAttribute(null=True)

    by_user = SessionsByUser()


# --- money ----------------------------------------------------------------------------------

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
    credit_limit = NumberAttribute(default=0)
    # balance + credit_limit, kept beside them so "may this debit happen" is one write condition.
    spendable = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()


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
    bucket = UnicodeAttribute()  # balance | earnings
    amount = NumberAttribute()  # signed minor units: + credits the account, - debits it
    kind = UnicodeAttribute()
    description = UnicodeAttribute()
    reference = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


# --- notifications --------------------------------------------------------------------------

class NotificationModel(BaseModel):
    """A message to a user (their inbox). Written by the notifications worker, once per message."""

    logical_name = "notifications"

    class Meta(BaseModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    notification_key = UnicodeAttribute(range_key=True)  # "<created_at iso>#<notification_id>"
    notification_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    subject = UnicodeAttribute()
    message = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


ALL_MODELS: tuple[type[BaseModel], ...] = (
    UserModel,
    EmailClaimModel,
    SessionModel,
    AccountModel,
    LedgerTransactionModel,
    LedgerEntryModel,
    NotificationModel,
)

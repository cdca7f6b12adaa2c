"""Identity tables."""
from __future__ import annotations

from pynamodb.attributes import (BooleanAttribute, JSONAttribute, ListAttribute, NumberAttribute, TTLAttribute,
                                 UTCDateTimeAttribute, UnicodeAttribute)
from pynamodb.indexes import AllProjection, KeysOnlyProjection, GlobalSecondaryIndex

from chalicelib.persistence.base import BaseModel


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
    # Ids of the user's live sessions, rewritten (conditionally) by every login: the limit on active
    # sessions is kept on this item, read consistently, not on the eventually consistent sessions index.
    session_ids = ListAttribute(of=UnicodeAttribute, default=list)

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
    # What the client said about itself at login (platform, browser, version ...), as it said it.
    device_info = JSONAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    # DynamoDB deletes the item some time after this; the code never relies on it.
    purge_at = TTLAttribute(null=True)

    by_user = SessionsByUser()


class AccountTokenModel(BaseModel):
    """A token mailed to a user (email verification, password reset), stored only as its SHA-256. Used once:
    `used_at` is set on condition it is unset, in the transaction that does what the token allows."""

    logical_name = "account_tokens"

    class Meta(BaseModel.Meta):
        pass

    token_hash = UnicodeAttribute(hash_key=True)
    purpose = UnicodeAttribute()  # verify_email | reset_password
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()  # the address it was sent to: a changed address voids it
    # SHA-256 of the user's password hash when issued: a password changed since voids a reset token.
    password_fingerprint = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    used_at = UTCDateTimeAttribute(null=True)
    purge_at = TTLAttribute()

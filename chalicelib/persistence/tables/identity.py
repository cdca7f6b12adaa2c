"""Identity tables."""
from __future__ import annotations

from pynamodb.attributes import (BooleanAttribute, JSONAttribute, ListAttribute, NumberAttribute, TTLAttribute,
                                 UTCDateTimeAttribute, UnicodeAttribute)
from pynamodb.indexes import AllProjection, KeysOnlyProjection, GlobalSecondaryIndex

from chalicelib.persistence.base import BaseModel, shard_key

USERS = "USER"  # the `kind` prefix of every user (the all_users index, in shards by user id)


class UsersByType(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_type"
        projection = AllProjection()

    type_key = UnicodeAttribute(hash_key=True)  # "<account_type>#<shard>"
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
    sharded_keys = {"kind": USERS}

    class Meta(BaseModel.Meta):
        pass

    user_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # "USER#<shard>"
    email = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    company = UnicodeAttribute(null=True)
    account_type = UnicodeAttribute()  # buyer | seller | admin
    type_key = UnicodeAttribute(null=True)  # "<account_type>#<shard>" (the by_type index)
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

    def __init__(self, hash_key=None, range_key=None, _user_instantiated=True, **attributes):
        super().__init__(hash_key, range_key, _user_instantiated, **attributes)
        if _user_instantiated and self.type_key is None and self.account_type and self.user_id:
            self.type_key = shard_key(self.account_type, self.user_id)
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

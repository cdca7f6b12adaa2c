"""Counters that limit how often someone may do something, and the single-use tokens mailed to users.

Both tables are bound, created and generated into infra/ like every other (they are in models.ALL_MODELS).
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError

from chalicelib.persistence.base import BaseModel


class RateCounterModel(BaseModel):
    """One item per subject and fixed window: requests counted with an atomic ADD (exact across every Lambda
    container), or attempts reserved with a conditional ADD. DynamoDB's TTL removes old windows."""

    logical_name = "rate_counters"

    class Meta(BaseModel.Meta):
        pass

    counter_key = UnicodeAttribute(hash_key=True)  # "<scope>#<subject>#<window start, epoch seconds>"
    # Requests of the window, by limit: every request of the subject, and those of the narrower limits.
    hits = NumberAttribute(null=True)
    number_search = NumberAttribute(null=True)
    purchase = NumberAttribute(null=True)
    # Password checks reserved (failed, or still in flight) in a login window.
    attempts = NumberAttribute(null=True)
    purge_at = TTLAttribute()


def count(key: str, attributes: tuple[str, ...], purge_at: datetime) -> dict[str, int]:
    """Adds one to each attribute of the window's item in one UpdateItem (the only write a limited request
    adds) and answers the counts after it."""
    item = RateCounterModel(counter_key=key)
    actions = [getattr(RateCounterModel, name).add(1) for name in attributes]
    item.update(actions=[*actions, RateCounterModel.purge_at.set(purge_at)])
    return {name: int(getattr(item, name) or 0) for name in attributes}


def reserve(keys: dict[str, int], purge_at: datetime) -> str | None:
    """One attempt under every key at once, each on condition that it has fewer than its limit: all or none
    (one transaction). None when reserved, else the first key that is at its limit."""
    from chalicelib.persistence.db import failed_conditions, transact_write  # noqa: PLC0415 - db imports us

    items = [RateCounterModel(counter_key=key) for key in keys]
    try:
        with transact_write() as tx:
            for item, limit in zip(items, keys.values()):
                tx.update(item, actions=[RateCounterModel.attempts.add(1), RateCounterModel.purge_at.set(purge_at)],
                          condition=RateCounterModel.attempts.does_not_exist() | (RateCounterModel.attempts < limit))
    except TransactWriteError as error:
        failed = [key for key, hit in zip(keys, failed_conditions(error)) if hit]
        if not failed:
            raise
        return failed[0]
    return None


def release(keys: list[str]) -> None:
    """Gives reserved attempts back (the password was right): one transaction."""
    from chalicelib.persistence.db import transact_write  # noqa: PLC0415

    with transact_write() as tx:
        for key in keys:
            tx.update(RateCounterModel(counter_key=key), actions=[RateCounterModel.attempts.add(-1)],
                      condition=RateCounterModel.attempts > 0)


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


def get_token(token_hash: str) -> AccountTokenModel | None:
    try:
        return AccountTokenModel.get(token_hash, consistent_read=True)
    except AccountTokenModel.DoesNotExist:
        return None

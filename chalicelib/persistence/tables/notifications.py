"""Notifications tables."""
from __future__ import annotations

from pynamodb.attributes import UTCDateTimeAttribute, UnicodeAttribute

from chalicelib.persistence.base import BaseModel


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

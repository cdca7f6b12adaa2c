"""Notifications: the queue message and what the API answers."""
from datetime import datetime

from pydantic import Field

from chalicelib.schemas.common import ResponseModel, StrictModel


class NotificationMessage(StrictModel):
    """Body of a message on the notifications queue."""

    notification_id: str = Field(min_length=1, max_length=64)
    user_id: str
    kind: str
    subject: str = Field(max_length=200)
    message: str = Field(max_length=2000)
    created_at: datetime


class NotificationOut(ResponseModel):
    id: str = Field(validation_alias="notification_id")
    kind: str
    subject: str
    message: str
    created_at: datetime

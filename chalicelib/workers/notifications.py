"""Delivers notification messages to users' inboxes, once per message however often SQS repeats it."""
from __future__ import annotations

import json

from chalice import Blueprint
from pynamodb.exceptions import PutError

from chalicelib.gateways.queues import NOTIFICATIONS
from chalicelib.http import validate
from chalicelib.observability import logger
from chalicelib.persistence.db import configure
from chalicelib.persistence.models import NotificationModel
from chalicelib.schemas.notifications import NotificationMessage

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=NOTIFICATIONS, batch_size=1)
def deliver_notifications(event):
    configure()
    for record in event:
        deliver(validate(NotificationMessage, json.loads(record.body)))


def deliver(message: NotificationMessage) -> bool:
    """Create-only write keyed by the producer's notification id: a redelivery is a no-op."""
    item = NotificationModel(
        user_id=message.user_id,
        notification_key=f"{message.created_at.isoformat()}#{message.notification_id}",
        notification_id=message.notification_id,
        kind=message.kind,
        subject=message.subject,
        message=message.message,
        created_at=message.created_at,
    )
    try:
        item.save(condition=NotificationModel.notification_key.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        logger.info("Duplicate notification ignored", extra={"notification_id": message.notification_id})
        return False
    return True

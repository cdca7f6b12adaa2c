"""Delivers notification messages to users' inboxes."""
from __future__ import annotations

import json

from chalice import Blueprint

from chalicelib.caller import validate
from chalicelib.gateways.queues import NOTIFICATIONS
from chalicelib.schemas import models
from chalicelib.services.notifications import deliver
from chalicelib.workers import process_records

schemas = models("notifications")  # imported on first use, not at cold start

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=NOTIFICATIONS, batch_size=1)
def deliver_notifications(event):
    return process_records(event, _deliver_notification)


def _deliver_notification(record) -> None:
    deliver(validate(schemas.NotificationMessage, json.loads(record.body)))

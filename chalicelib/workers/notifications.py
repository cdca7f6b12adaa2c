"""Delivers notification messages to users' inboxes."""
from __future__ import annotations

import json

from chalice import Blueprint

from chalicelib.caller import validate
from chalicelib.gateways.queues import NOTIFICATIONS
from chalicelib.schemas import models
from chalicelib.services.notifications import deliver

schemas = models("notifications")  # imported on first use, not at cold start

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=NOTIFICATIONS, batch_size=1)
def deliver_notifications(event):
    for record in event:
        deliver(validate(schemas.NotificationMessage, json.loads(record.body)))

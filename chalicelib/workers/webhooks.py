"""Delivers to users' webhook endpoints: one attempt per message (services/webhooks.py), its retry owed by the
commit that records it."""
from __future__ import annotations

import json

from chalice import Blueprint

from chalicelib.gateways.queues import WEBHOOKS
from chalicelib.observability import logger
from chalicelib.services.webhooks import attempt
from chalicelib.workers import process_records

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=WEBHOOKS, batch_size=1)
def deliver_webhooks(event):
    return process_records(event, _attempt)


def _attempt(record) -> None:
    outcome = attempt(json.loads(record.body))
    logger.debug("Webhook attempt", extra={"outcome": outcome})

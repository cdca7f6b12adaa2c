"""The events queue's worker (services/events.fan_out), one message at a time: closing WebSocket connections
(a revoked session's, a suspended user's, one whose access token expired). Realtime events themselves are
published from the outbox's stream (workers/outbox.py)."""
from __future__ import annotations

import json

from chalice import Blueprint

from chalicelib.gateways.queues import EVENTS
from chalicelib.observability import logger
from chalicelib.services.events import fan_out
from chalicelib.workers import process_records

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=EVENTS, batch_size=1)
def deliver_events(event):
    return process_records(event, _deliver_events)


def _deliver_events(record) -> None:
    result = fan_out(json.loads(record.body))
    logger.debug("Realtime events delivered", extra=result)

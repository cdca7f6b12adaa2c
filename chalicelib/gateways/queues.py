"""Sending SQS messages. Queues are named by logical name; the stage decides the physical one."""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain.ledger import AUTO_RECHARGE_QUEUE

NOTIFICATIONS = "notifications"
NUMBER_PROVISIONING = "number-provisioning"
AUCTION_CLOSING = "auction-closing"
AUTO_RECHARGE = AUTO_RECHARGE_QUEUE  # a balance was debited: start an automatic top-up if it is low
EVENTS = "events"  # closing WebSocket connections (services/events.py); the events go out from the outbox
WEBHOOKS = "webhooks"  # one attempt of a delivery to a user's webhook endpoint (services/webhooks.py)
LEDGER_AUDIT = "ledger-audit"  # an admin asked for the books' audit (POST /admin/ledger/audit)


@functools.cache
def _client() -> Any:
    import boto3  # imported on first send only: it is the heaviest import we have

    settings = get_settings()
    return boto3.client("sqs", region_name=settings.region, endpoint_url=settings.sqs_endpoint)


@functools.cache
def queue_url(logical: str) -> str:
    return _client().get_queue_url(QueueName=get_settings().queue_name(logical))["QueueUrl"]


def send(logical: str, body: dict[str, Any], delay_seconds: int = 0) -> str:
    response = _client().send_message(
        QueueUrl=queue_url(logical), MessageBody=json.dumps(body), DelaySeconds=delay_seconds)
    return response["MessageId"]


def reset() -> None:
    """Forget clients and URLs (tests and the local runtime change endpoints)."""
    _client.cache_clear()
    queue_url.cache_clear()


@dataclass(frozen=True)
class QueueSpec:
    logical: str
    consumer_timeout_seconds: int  # the consuming Lambda's timeout (.chalice/config.json says the same)
    max_receive_count: int = 5  # deliveries before a message goes to the dead-letter queue

    @property
    def visibility_timeout_seconds(self) -> int:
        return 6 * self.consumer_timeout_seconds  # AWS's advice for Lambda consumers

    @property
    def dead_letter(self) -> str:
        """The logical name of its dead-letter queue."""
        return f"{self.logical}-dlq"


QUEUES = (
    QueueSpec(NOTIFICATIONS, consumer_timeout_seconds=30),
    # Up to 10 numbers, each a few Twilio calls with bounded retries.
    QueueSpec(NUMBER_PROVISIONING, consumer_timeout_seconds=120),
    # Messages delayed to each auction's end time (SQS allows up to 900 s, the longest auction).
    QueueSpec(AUCTION_CLOSING, consumer_timeout_seconds=30),
    # A fan-out sends to every connection of an event's audience (hundreds, a few at a time).
    QueueSpec(EVENTS, consumer_timeout_seconds=30),
    # One off-session card payment at Stripe (its SDK retries network failures within this).
    QueueSpec(AUTO_RECHARGE, consumer_timeout_seconds=60),
    # One POST to a user's server (5 s timeout) and its record.
    QueueSpec(WEBHOOKS, consumer_timeout_seconds=30),
    # Reads every account (in parallel over the index's shards): minutes for millions of accounts.
    QueueSpec(LEDGER_AUDIT, consumer_timeout_seconds=300),
)

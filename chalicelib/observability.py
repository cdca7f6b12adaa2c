"""Structured JSON logging (powertools Logger; request ids are appended per request) and business metrics
(powertools Metrics, CloudWatch's embedded metric format: printed with the logs, no API call).

Metrics are gathered during an invocation and flushed once at its end (app.py registers flush_metrics as
a middleware of every kind of event). infra/ alarms on some of them (ALARMED)."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

logger = Logger(service="call-exchange")

NAMESPACE, SERVICE = "CallExchange", "call-exchange"
# What is measured (counts unless a name says otherwise):
HOLD_OPENED, HOLD_RELEASED, HOLD_SETTLED = "HoldOpened", "HoldReleased", "HoldSettled"
HOLD_AGE_AT_END = "HoldAgeAtEndSeconds"  # how long a hold lasted when it was released or settled
OLDEST_OPEN_HOLD = "OldestOpenHoldSeconds"  # the hold job's reading, every minute
SETTLEMENT_FAILED = "SettlementFailed"  # a settlement that could not finish (retried by its caller or the job)
EVENTS_PUBLISHED, EVENTS_PUBLISH_FAILED = "EventsPublished", "EventsPublishFailed"  # by the outbox's stream
TWILIO_ERRORS = "TwilioErrors"
SECONDS = frozenset({HOLD_AGE_AT_END, OLDEST_OPEN_HOLD})


@functools.cache
def _metrics() -> Metrics:
    from aws_lambda_powertools import Metrics  # at the first metric, not at cold start

    return Metrics(namespace=NAMESPACE, service=SERVICE)


def measure(name: str, value: float = 1) -> None:
    """Adds to a metric of this invocation (flushed at its end)."""
    _metrics().add_metric(name=name, unit="Seconds" if name in SECONDS else "Count", value=value)


def flush_metrics() -> None:
    """Prints this invocation's metrics as one EMF document (nothing when there are none, or when
    POWERTOOLS_METRICS_DISABLED is set, as under `make run` and in tests), and forgets them."""
    if _metrics.cache_info().currsize and _metrics().metric_set:
        _metrics().flush_metrics()
        _metrics().clear_metrics()


def flush_after(event, get_response):
    """Chalice middleware: an invocation's metrics go out when it ends, whatever it answered."""
    try:
        return get_response(event)
    finally:
        flush_metrics()

"""Number provisioning (SQS), stuck orders and monthly number fees (scheduled)."""
from __future__ import annotations

import json

from chalice import Blueprint, Rate

from chalicelib import clock
from chalicelib.caller import validate
from chalicelib.observability import logger
from chalicelib.gateways.queues import NUMBER_PROVISIONING
from chalicelib.schemas import models
from chalicelib.services.fees import charge_monthly_fees
from chalicelib.services.orders import provision_order, sweep_pending_orders
from chalicelib.workers import process_records

schemas = models("numbers")  # imported on first use, not at cold start

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=NUMBER_PROVISIONING, batch_size=1)
def provision_numbers(event):
    return process_records(event, _provision_number_order)


def _provision_number_order(record) -> None:
    message = validate(schemas.ProvisionMessage, json.loads(record.body))
    status = provision_order(message.order_id)
    logger.info("Order provisioned", extra={"order_id": message.order_id, "status": status})


@bp.schedule(Rate(1, unit=Rate.DAYS))
def charge_number_fees(event):
    outcome = charge_monthly_fees(clock.now())
    logger.info("Monthly number fees", extra=outcome)
    return outcome


@bp.schedule(Rate(5, unit=Rate.MINUTES))
def sweep_number_orders(event):
    """Orders left pending (queueing failed, or the message dead-lettered) are queued again, then finished."""
    swept = sweep_pending_orders(clock.now())
    logger.info("Pending orders swept", extra=swept)
    return swept

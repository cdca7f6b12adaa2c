"""Starts automatic top-ups: told of every posting that took money from a user's balance."""
from __future__ import annotations

import json

from chalice import Blueprint

from chalicelib.gateways.queues import AUTO_RECHARGE
from chalicelib.services.funding import recharge_if_low
from chalicelib.workers import process_records

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=AUTO_RECHARGE, batch_size=1)
def start_auto_recharges(event):
    return process_records(event, _recharge)


def _recharge(record) -> None:
    recharge_if_low(json.loads(record.body)["account_id"])

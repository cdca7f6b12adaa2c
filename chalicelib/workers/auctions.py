"""Auctions close by themselves: a message delayed to the end time, and a sweeper for lost messages."""
from __future__ import annotations

import json

from chalice import Blueprint, Rate

from chalicelib import clock
from chalicelib.gateways.queues import AUCTION_CLOSING
from chalicelib.caller import validate
from chalicelib.observability import logger
from chalicelib.schemas import models
from chalicelib.services.auctions import close_if_due, sweep_auctions
from chalicelib.workers import process_records

schemas = models("exchange")  # imported on first use, not at cold start

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=AUCTION_CLOSING, batch_size=1)
def close_auctions(event):
    return process_records(event, _close_auction)


def _close_auction(record) -> None:
    message = validate(schemas.AuctionCloseMessage, json.loads(record.body))
    closed = close_if_due(message.auction_id, clock.now())
    logger.info("Auction close message", extra={"auction_id": message.auction_id, "closed": closed})


@bp.schedule(Rate(1, unit=Rate.MINUTES))
def sweep_open_auctions(event):
    closed = sweep_auctions(clock.now())
    logger.info("Swept auctions", extra={"closed": closed})
    return {"closed": closed}

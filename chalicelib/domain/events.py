"""The realtime API's rules as plain values: the events, what a client may send, and who was outbid.

An event is `{"type", "event_id", "occurred_at", "data"}`; `event_id` is made once, when the event is
published, and kept through redeliveries, so a client that gets an event twice (delivery is at least
once) can tell. A client sends `{"action": "ping" | "subscribe" | "unsubscribe", ...}`; anything else
gets an error message, which never repeats what the client sent.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.calls import COMPLETED

AUCTION_STARTED = "auction.started"
BID_PLACED = "bid.placed"
BID_OUTBID = "bid.outbid"
AUCTION_WON = "auction.won"
AUCTION_LOST = "auction.lost"
CALL_STATUS_CHANGED = "call.status_changed"
CALL_COMPLETED = "call.completed"
BALANCE_CHANGED = "balance.changed"
EVENT_TYPES = (AUCTION_STARTED, BID_PLACED, BID_OUTBID, AUCTION_WON, AUCTION_LOST, CALL_STATUS_CHANGED,
               CALL_COMPLETED, BALANCE_CHANGED)

PING, SUBSCRIBE, UNSUBSCRIBE = "ping", "subscribe", "unsubscribe"
ACTIONS = (PING, SUBSCRIBE, UNSUBSCRIBE)
MAX_MESSAGE_CHARS = 4096  # a client's message is a small JSON object; API Gateway's own limit is 128 KB


def event(event_type: str, data: dict[str, Any], now: datetime, event_id: str | None = None) -> dict[str, Any]:
    return {"type": event_type, "event_id": event_id or str(uuid.uuid4()), "occurred_at": now.isoformat(),
            "data": data}


def derived_id(event_id: str, name: str) -> str:
    """The id of an event derived from another one (the outbid of a bid): the same on every redelivery."""
    return str(uuid.uuid5(uuid.UUID(event_id), name))


def call_event_type(status: str) -> str:
    return CALL_COMPLETED if status == COMPLETED else CALL_STATUS_CHANGED


def pong() -> dict[str, Any]:
    return {"type": "pong"}


def error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


class ClientMessageError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message

    def as_message(self) -> dict[str, Any]:
        return error(self.code, self.message)


@dataclass(frozen=True)
class ClientMessage:
    action: str
    auction_id: str | None = None


def parse_client_message(text: str | None) -> ClientMessage:
    """What a client asked for, or ClientMessageError (with a fixed message: nothing of the input)."""
    if text is None or len(text) > MAX_MESSAGE_CHARS:
        raise ClientMessageError("INVALID_MESSAGE", "Messages are JSON objects of at most 4096 characters")
    try:
        body = json.loads(text)
    except ValueError:
        raise ClientMessageError("INVALID_JSON", "Messages must be JSON") from None
    if not isinstance(body, dict):
        raise ClientMessageError("INVALID_MESSAGE", "Messages must be JSON objects with an action")
    action = body.get("action")
    if action not in ACTIONS:
        raise ClientMessageError("UNKNOWN_ACTION", "The action must be one of: ping, subscribe, unsubscribe")
    if action == PING:
        return ClientMessage(PING)
    auction_id = body.get("auction_id")
    try:
        parsed = uuid.UUID(auction_id) if isinstance(auction_id, str) else None
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != auction_id.lower():
        raise ClientMessageError("INVALID_UUID", "auction_id must be an auction's id (a UUID)")
    return ClientMessage(action, str(parsed))


def outbid_seller(standing: dict[str, int], bidder: str, amount: int) -> str | None:
    """Whose standing bid a new bid of `amount` by `bidder` passed: the best of the other sellers' standing
    bids (seller -> amount), when the new bid is above it. Ties between others go to the smaller seller id
    (the earlier bid is not known here; either way, one of them is told)."""
    others = [(-value, seller) for seller, value in standing.items() if seller != bidder]
    if not others:
        return None
    best_value, best_seller = min(others)
    return best_seller if amount > -best_value else None

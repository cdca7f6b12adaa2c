"""The realtime API's rules as plain values: the events and whom each is for, what a client may send, and
who was outbid.

An event is `{"type", "event_id", "occurred_at", "data"}`; `event_id` is made once, when the event is
built (before its change commits, with which it is stored), and kept through redeliveries, so a client that
gets an event twice (delivery is at least once) can tell. What a user is sent also carries `seq`, the
event's place in that user's feed (1, 2, 3, ... without gaps). A client sends
`{"action": "ping" | "subscribe" | "unsubscribe" | "resume", ...}`; anything else gets an error message,
which never repeats what the client sent.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.auctions import SHOWN_AS
from chalicelib.domain.calls import COMPLETED
from chalicelib.domain.ledger import Posting, is_platform
from chalicelib.domain.money import format_money

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

PING, SUBSCRIBE, UNSUBSCRIBE, RESUME = "ping", "subscribe", "unsubscribe", "resume"
ACTIONS = (PING, SUBSCRIBE, UNSUBSCRIBE, RESUME)
MAX_MESSAGE_CHARS = 4096  # a client's message is a small JSON object; API Gateway's own limit is 128 KB


# How an event names its audience ("to"), resolved to connections when it is fanned out:
USERS = "users"  # [user ids]
AUCTION = "auction"  # an auction id: its subscribers
MATCHING = "matching"  # call facts: sellers with a matching active profile ("except": the buyer)
OUTBID = "outbid"  # {"auction_id", "bidder", "amount"}: the seller whose standing bid was passed


def event(event_type: str, data: dict[str, Any], now: datetime, event_id: str | None = None) -> dict[str, Any]:
    return {"type": event_type, "event_id": event_id or str(uuid.uuid4()), "occurred_at": now.isoformat(),
            "data": data}


def addressed(event_type: str, data: dict[str, Any], to: dict[str, Any], now: datetime) -> dict[str, Any]:
    """An event with its audience, as a unit of work stores it."""
    return {**event(event_type, data, now), "to": to}


def public(stored: dict[str, Any], seq: int | None = None) -> dict[str, Any]:
    """What a client is sent: the event without its audience, with its seq in the client's feed (none for an
    auction's subscriber who gets it only as a subscriber)."""
    shown = {"type": stored["type"], "event_id": stored["event_id"]}
    if seq:
        shown["seq"] = seq
    shown.update(occurred_at=stored["occurred_at"], data=stored["data"])
    return shown


# --- the events of each change (built before it commits, published once it has) -------------------
# Models are read by attribute only: the domain imports no persistence.

def auction_started(auction: Any) -> dict[str, Any]:
    facts = auction.call_facts or {}
    return addressed(AUCTION_STARTED, {
        "auction": _auction(auction),
        "country": facts.get("country"), "state": facts.get("state"), "call_type": facts.get("call_type"),
    }, {MATCHING: {**facts, "at": auction.created_at.isoformat()}, "except": auction.owner_id}, auction.created_at)


def bid_placed(auction: Any, bid: Any) -> list[dict[str, Any]]:
    amount = format_money(int(bid.amount))
    placed = addressed(BID_PLACED, {"auction_id": auction.auction_id, "amount": amount,
                                    "placed_at": bid.placed_at.isoformat()},
                       {USERS: [auction.owner_id], AUCTION: auction.auction_id}, bid.placed_at)
    outbid = addressed(BID_OUTBID, {"auction_id": auction.auction_id, "amount": amount},
                       {OUTBID: {"auction_id": auction.auction_id, "bidder": bid.seller_id, "amount": int(bid.amount)}},
                       bid.placed_at)
    outbid["event_id"] = derived_id(placed["event_id"], BID_OUTBID)
    return [placed, outbid]


def auction_decided(auction: Any, decided: dict[str, Any], bidders: list[str]) -> list[dict[str, Any]]:
    """Each seller who bid learns whether it won; nothing when nobody bid."""
    winner = decided["winner"]
    bidders = sorted(set(bidders))
    if not bidders:
        return []
    data = {"auction_id": auction.auction_id, "call_id": auction.call_id, "bid_count": len(bidders),
            "winning_amount": format_money(int(winner["amount"])) if winner else None}
    now = decided["decided_at"]
    decided_events = []
    if winner:
        decided_events.append(addressed(AUCTION_WON, data, {USERS: [winner["seller_id"]]}, now))
    losers = [seller for seller in bidders if not winner or seller != winner["seller_id"]]
    if losers:
        decided_events.append(addressed(AUCTION_LOST, data, {USERS: losers}, now))
    return decided_events


def call_moved(call: Any, written: dict[str, Any]) -> list[dict[str, Any]]:
    """call.status_changed or call.completed, when `written` moves the call's status (by its buyer,
    routing, settlement or Twilio's callbacks), to the call's buyer and seller."""
    shown = ("call_id", "status", "source", "owner_id", "seller_id", "duration_seconds", "billable", "converted",
             "price", "cost", "updated_at")
    after = {name: getattr(call, name) for name in shown}
    after.update((name, value) for name, value in written.items() if name in after)
    if after["status"] == call.status:
        return []
    data = {"call_id": call.call_id, "status": after["status"], "previous_status": call.status,
            "source": after["source"]}
    if call_event_type(after["status"]) == CALL_COMPLETED:
        data.update(duration=after["duration_seconds"], billable=after["billable"], converted=after["converted"],
                    price=None if after["price"] is None else format_money(int(after["price"])),
                    cost=None if after["cost"] is None else format_money(int(after["cost"])))
    return [addressed(call_event_type(after["status"]), data, {USERS: [after["owner_id"], after["seller_id"]]},
                      after["updated_at"])]


def balance_changed(posting: Posting, transaction_id: str, now: datetime) -> list[dict[str, Any]]:
    """Each user account a posting changes, to its owner (a user's account id is its user id)."""
    changes: dict[str, dict[str, str]] = {}
    for entry in posting.entries:
        if not is_platform(entry.account_id):
            changes.setdefault(entry.account_id, {})[entry.bucket] = format_money(entry.amount)
    return [addressed(BALANCE_CHANGED, {
        "transaction_id": transaction_id, "kind": posting.kind, "reference": posting.reference, "changes": moved,
    }, {USERS: [account_id]}, now) for account_id, moved in changes.items()]


def _auction(auction: Any) -> dict[str, Any]:
    return {"id": auction.auction_id, "call_id": auction.call_id, "status": SHOWN_AS[auction.status],
            "reserve_price": format_money(int(auction.reserve_price)), "ends_at": auction.ends_at.isoformat(),
            "created_at": auction.created_at.isoformat()}


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
    after: str | None = None  # resume: the last event the client has (none: everything kept)


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
        raise ClientMessageError("UNKNOWN_ACTION",
                                 "The action must be one of: ping, subscribe, unsubscribe, resume")
    if action == PING:
        return ClientMessage(PING)
    if action == RESUME:
        after = body.get("after")
        if after is None:
            return ClientMessage(RESUME)
        parsed = _uuid(after)
        if parsed is None:
            raise ClientMessageError("INVALID_UUID", "after must be an event's id (a UUID)")
        return ClientMessage(RESUME, after=parsed)
    parsed = _uuid(body.get("auction_id"))
    if parsed is None:
        raise ClientMessageError("INVALID_UUID", "auction_id must be an auction's id (a UUID)")
    return ClientMessage(action, parsed)


def _uuid(value: Any) -> str | None:
    """A UUID in its canonical form (any case), or None."""
    try:
        parsed = uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return str(parsed) if parsed is not None and str(parsed) == value.lower() else None


def outbid_seller(standing: dict[str, int], bidder: str, amount: int) -> str | None:
    """Whose standing bid a new bid of `amount` by `bidder` passed: the best of the other sellers' standing
    bids (seller -> amount), when the new bid is above it. Ties between others go to the smaller seller id
    (the earlier bid is not known here; either way, one of them is told)."""
    others = [(-value, seller) for seller, value in standing.items() if seller != bidder]
    if not others:
        return None
    best_value, best_seller = min(others)
    return best_seller if amount > -best_value else None

"""Realtime events: published after the change they tell of has committed, fanned out by a worker.

Publishing is one SQS message (the events queue) with the events and whom each is for, sent after the
write committed; it never fails the request that made the change (a failed send is logged, the change
stands). The worker (workers/events.py) resolves each event's audience to open connections and sends it
to each through API Gateway's connection management API (gateways/websocket.py); a connection that is
gone (410) is removed. Delivery is at least once: a fan-out that fails part-way is delivered again by SQS,
with the same `event_id`s.

Who gets what (each only what they may see):
- auction.started: sellers with an active profile matching the call (found through the route entries of
  the call's country and state, as instant routing finds them), never the buyer; the call's country,
  state and call_type, never its numbers;
- bid.placed: the auction's buyer and the auction's subscribers; the amount, never the bidder;
- bid.outbid: the seller whose standing bid the new one passed;
- auction.won / auction.lost: each seller who bid;
- call.status_changed / call.completed: the call's buyer and its seller;
- balance.changed: the owner of each user account a posting changed.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from chalicelib import clock
from chalicelib.domain import events as domain_events
from chalicelib.domain import routing
from chalicelib.domain.auctions import SHOWN_AS
from chalicelib.domain.ledger import Posting, is_platform
from chalicelib.domain.money import format_money
from chalicelib.gateways import queues, websocket
from chalicelib.observability import logger
from chalicelib.persistence import connections, ledger, route_entries
from chalicelib.persistence.calls import apply
from chalicelib.persistence.tables import AccountModel, AuctionModel, BidModel, CallModel
from chalicelib.services import bid_profiles

if TYPE_CHECKING:  # imported when the first pool is made, not at cold start
    from concurrent.futures import ThreadPoolExecutor

# How a message names an event's audience ("to"):
USERS = "users"  # [user ids]
AUCTION = "auction"  # an auction id: its subscribers
MATCHING = "matching"  # call facts: sellers with a matching active profile ("except": the buyer)
OUTBID = "outbid"  # {"auction_id", "bidder", "amount"}: the seller whose standing bid was passed
CLOSE_USER = "close_user"  # not an event: close every connection of a user (suspension, logout everywhere)


# --- publishing (the request's side) -------------------------------------------------------------

# The events of the request under way (batched), sent as one message at its end; None outside one.
_batch: ContextVar[list[dict[str, Any]] | None] = ContextVar("realtime_batch", default=None)


@contextmanager
def batched() -> Iterator[None]:
    """Within it, events are gathered and go out as one SQS message at its end (an HTTP request's changes:
    a route's call and balance events are one send, not two)."""
    token = _batch.set([])
    try:
        yield
    finally:
        gathered = _batch.get()
        _batch.reset(token)
        if gathered:
            _send({"events": gathered})


def publish(*events: dict[str, Any]) -> None:
    """The events of a committed change: gathered when batched(), else one SQS message now (none for no
    events). Never raises: the change has committed already."""
    if not events:
        return
    gathered = _batch.get()
    if gathered is not None:
        gathered.extend(events)
    else:
        _send({"events": list(events)})


def close_connections(user_id: str) -> None:
    """A suspended user, or one logged out of every device: their open sockets are closed by the worker."""
    _send({CLOSE_USER: user_id})


def _send(body: dict[str, Any]) -> None:
    try:
        queues.send(queues.EVENTS, body)
    except Exception:  # the change stands; its event is lost (logged, so it can be seen)
        logger.exception("Publishing realtime events failed", extra={"body_keys": sorted(body)})


def _event(event_type: str, data: dict[str, Any], to: dict[str, Any], now: datetime | None = None) -> dict:
    return {**domain_events.event(event_type, data, now or clock.now()), "to": to}


def auction_started(auction: AuctionModel) -> None:
    facts = auction.call_facts or {}
    publish(_event(domain_events.AUCTION_STARTED, {
        "auction": _auction(auction),
        "country": facts.get("country"), "state": facts.get("state"), "call_type": facts.get("call_type"),
    }, {MATCHING: facts, "except": auction.owner_id}, auction.created_at))


def bid_placed(auction: AuctionModel, bid: BidModel) -> None:
    placed = _event(domain_events.BID_PLACED, {"auction_id": auction.auction_id, "amount": format_money(int(bid.amount)),
                                          "placed_at": bid.placed_at.isoformat()},
                    {USERS: [auction.owner_id], AUCTION: auction.auction_id}, bid.placed_at)
    outbid = _event(domain_events.BID_OUTBID, {"auction_id": auction.auction_id, "amount": format_money(int(bid.amount))},
                    {OUTBID: {"auction_id": auction.auction_id, "bidder": bid.seller_id, "amount": int(bid.amount)}},
                    bid.placed_at)
    outbid["event_id"] = domain_events.derived_id(placed["event_id"], domain_events.BID_OUTBID)
    publish(placed, outbid)


def auction_decided(auction: AuctionModel, bidders: Iterable[str]) -> None:
    """Each seller who bid learns whether it won; nothing when nobody bid."""
    winner = (auction.winner or {}).get("seller_id")
    bidders = sorted(set(bidders))
    if not bidders:
        return
    now = auction.decided_at or clock.now()
    data = {"auction_id": auction.auction_id, "call_id": auction.call_id, "bid_count": len(bidders),
            "winning_amount": format_money(int(auction.winner["amount"])) if auction.winner else None}
    events = []
    if winner:
        events.append(_event(domain_events.AUCTION_WON, data, {USERS: [winner]}, now))
    losers = [seller for seller in bidders if seller != winner]
    if losers:
        events.append(_event(domain_events.AUCTION_LOST, data, {USERS: losers}, now))
    publish(*events)


def call_moved(call: CallModel, written: dict[str, Any]) -> CallModel:
    """The call as the committed write left it (persistence.calls.apply), and, when its status moved (by
    its buyer, routing, settlement or Twilio's callbacks), call.status_changed or call.completed."""
    previous = call.status
    apply(call, written)
    if call.status == previous:
        return call
    data = {"call_id": call.call_id, "status": call.status, "previous_status": previous, "source": call.source}
    if domain_events.call_event_type(call.status) == domain_events.CALL_COMPLETED:
        data.update(duration=call.duration_seconds, billable=call.billable,
                    price=None if call.price is None else format_money(int(call.price)),
                    cost=None if call.cost is None else format_money(int(call.cost)))
    publish(_event(domain_events.call_event_type(call.status), data, {USERS: [call.owner_id, call.seller_id]},
                   call.updated_at))
    return call


def balance_changed(posting: Posting, transaction_id: str, now: datetime) -> None:
    """After a posting: each user account it changed, to its owner (a user's account id is its user id)."""
    changes: dict[str, dict[str, str]] = {}
    for entry in posting.entries:
        if not is_platform(entry.account_id):
            changes.setdefault(entry.account_id, {})[entry.bucket] = format_money(entry.amount)
    publish(*(_event(domain_events.BALANCE_CHANGED, {
        "transaction_id": transaction_id, "kind": posting.kind, "reference": posting.reference, "changes": moved,
    }, {USERS: [account_id]}, now) for account_id, moved in changes.items()))


def _auction(auction: AuctionModel) -> dict[str, Any]:
    return {"id": auction.auction_id, "call_id": auction.call_id, "status": SHOWN_AS[auction.status],
            "reserve_price": format_money(int(auction.reserve_price)), "ends_at": auction.ends_at.isoformat(),
            "created_at": auction.created_at.isoformat()}


# --- fan-out (the worker's side) ------------------------------------------------------------------

@functools.cache
def _sends() -> ThreadPoolExecutor:
    """One pool per process (a warm Lambda reuses it): an event goes to many connections at once."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="ws-send")


def fan_out(message: dict[str, Any]) -> dict[str, int]:
    """Deliver one queued message; raises (and SQS delivers it again) if a send fails other than with 410."""
    if CLOSE_USER in message:
        return _close_user(message[CLOSE_USER])
    sent = gone = 0
    for queued in message.get("events", []):
        to = queued["to"]
        envelope = {key: queued[key] for key in ("type", "event_id", "occurred_at", "data")}
        targets = _connections(to)
        if targets and queued["type"] == domain_events.BALANCE_CHANGED:
            envelope["data"] = {**envelope["data"], **_balances(to[USERS][0])}
        delivered = list(_sends().map(lambda connection_id: websocket.send(connection_id, envelope), targets))
        for connection_id, ok in zip(targets, delivered):
            if ok:
                sent += 1
            else:
                gone += 1
                connections.close(connection_id)
    return {"sent": sent, "gone": gone}


def _connections(to: dict[str, Any]) -> list[str]:
    """The connection ids an event goes to, each once."""
    users = list(to.get(USERS) or [])
    if MATCHING in to:
        users += _matching_sellers(to[MATCHING], to.get("except"))
    if OUTBID in to:
        passed = _outbid_seller(**to[OUTBID])
        users += [passed] if passed else []
    found: list[str] = []
    for ids in connections.of_users(users).values():
        found += ids
    if AUCTION in to:
        found += connections.subscribers(to[AUCTION])
    return list(dict.fromkeys(found))


def _matching_sellers(facts: dict[str, Any], buyer_id: str | None) -> list[str]:
    call = routing.CallFacts(facts.get("country"), facts.get("state"), facts.get("call_type"),
                             tuple(facts.get("keywords") or ()))
    profiles = bid_profiles.matching(list(route_entries.profiles_for(call).values()), call)
    return sorted({p.seller_id for p in profiles if p.seller_id != buyer_id})


def _outbid_seller(auction_id: str, bidder: str, amount: int) -> str | None:
    standing = {b.seller_id: int(b.amount) for b in BidModel.query(auction_id, consistent_read=True)}
    return domain_events.outbid_seller(standing, bidder, amount)


def _balances(account_id: str) -> dict[str, str]:
    """The account as it stands when the event goes out (read only when its owner is connected)."""
    try:
        account = AccountModel.get(account_id, consistent_read=True)
    except AccountModel.DoesNotExist:
        return {}
    return {"balance": format_money(int(account.balance)), "earnings": format_money(int(account.earnings)),
            "held": format_money(int(account.held))}


def _close_user(user_id: str) -> dict[str, int]:
    closed = 0
    for connection_id in connections.of_users([user_id]).get(user_id, []):
        websocket.close(connection_id)
        connections.close(connection_id)
        closed += 1
    return {"closed": closed}


ledger.posted.append(balance_changed)  # every committed posting, wherever it is made

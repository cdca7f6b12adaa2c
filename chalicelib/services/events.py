"""Realtime events: published after the change they tell of has committed, fanned out by a worker.

A use case owes its events to its unit of work (persistence/unit_of_work.py), which publishes them once
it has committed; domain/events.py builds them. Publishing is one SQS message (the events queue) with the
events and whom each is for, sent after the write committed; it never fails the request that made the
change (a failed send is logged, the change stands). The worker (workers/events.py) resolves each event's
audience to open connections and sends it to each through API Gateway's connection management API
(gateways/websocket.py); a connection that is gone (410) is removed. Delivery is at least once: a
fan-out that fails part-way is delivered again by SQS, with the same `event_id`s.

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
from typing import TYPE_CHECKING, Any

from chalicelib.domain import events as domain_events
from chalicelib.domain import routing
from chalicelib.domain.events import AUCTION, MATCHING, OUTBID, USERS
from chalicelib.domain.money import format_money
from chalicelib.gateways import websocket
from chalicelib.persistence import connections, route_entries
from chalicelib.persistence.tables import AccountModel, BidModel
from chalicelib.persistence.unit_of_work import send_to_events_queue
from chalicelib.services import bid_profiles

if TYPE_CHECKING:  # imported when the first pool is made, not at cold start
    from concurrent.futures import ThreadPoolExecutor

CLOSE_USER = "close_user"  # not an event: close every connection of a user (suspension, logout everywhere)


def close_connections(user_id: str) -> None:
    """A suspended user, or one logged out of every device: their open sockets are closed by the worker."""
    send_to_events_queue({CLOSE_USER: user_id})


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

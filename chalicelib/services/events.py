"""Realtime events: stored with the change they tell of, delivered to the open WebSocket connections of
whom each is for, and kept a day in each of those users' feeds.

A use case owes its events to its unit of work, which writes them in its own transaction, as one outbox
item (persistence/outbox.py). The outbox's stream handler (services/outbox.py) resolves whom each event is
for (`recipients`), appends it to each of those users' feeds, which gives it that user's `seq`
(persistence/event_feed.py), and then calls `deliver` here: each connection of a user gets the event with
that user's seq; an auction's subscribers who are not among its users get it without one. A connection
that is gone (410) is removed. Delivery is at least once: a record whose handling fails is delivered again
by the stream, with the same `event_id`s and the same seqs.

Who gets what (each only what they may see):
- auction.started: sellers with an active profile matching the call (found through the route entries of
  the call's country and state, as instant routing finds them), never the buyer; the call's country,
  state and call_type, never its numbers;
- bid.placed: the auction's buyer, and the auction's subscribers (live only: a subscription belongs to a
  connection); the amount, never the bidder;
- bid.outbid: the seller whose standing bid the new one passed;
- auction.won / auction.lost: each seller who bid;
- call.status_changed / call.completed: the call's buyer and its seller;
- balance.changed: the owner of each user account a posting changed.

Closing connections is the events queue's work (workers/events.py), asked for through a unit of work like
any message, so that it is stored with what it follows: a session revoked (its connections), a user
suspended or logged out everywhere (all of theirs), and an access token's expiry (the connection opened
with it; a message delayed to that moment).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib import clock
from chalicelib.domain import events as domain_events
from chalicelib.domain import routing
from chalicelib.domain.events import AUCTION, MATCHING, OUTBID, USERS
from chalicelib.domain.money import format_money
from chalicelib.gateways import queues, websocket
from chalicelib.persistence import bid_shards, connections, route_entries
from chalicelib.persistence.tables import AccountModel
from chalicelib.services import bid_profiles

if TYPE_CHECKING:  # imported when the first pool is made, not at cold start
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.persistence.unit_of_work import UnitOfWork

# Messages of the events queue (not events): what to close.
CLOSE_USER = "close_user"  # every connection of a user (suspension, logout everywhere, a password reset)
CLOSE_SESSION = "close_session"  # {"user_id", "session_id"}: the connections opened with a session it revoked
CLOSE_EXPIRED = "close_expired"  # {"connection_id", "expires_at"}: a connection whose access token expired
MAX_DELAY_SECONDS = 900  # SQS's longest delay: a later expiry is waited for in steps


def close_user_connections(work: UnitOfWork, user_id: str) -> None:
    work.send(queues.EVENTS, {CLOSE_USER: user_id})


def close_session_connections(work: UnitOfWork, user_id: str, session_id: str) -> None:
    work.send(queues.EVENTS, {CLOSE_SESSION: {"user_id": user_id, "session_id": session_id}})


def close_when_expired(work: UnitOfWork, connection_id: str, expires_at: datetime, now: datetime) -> None:
    """A connection lives no longer than the access token it was opened with."""
    work.send(queues.EVENTS, {CLOSE_EXPIRED: {"connection_id": connection_id, "expires_at": expires_at.isoformat()}},
              delay_seconds=_delay(expires_at, now))


def _delay(at: datetime, now: datetime) -> int:
    return max(0, min(MAX_DELAY_SECONDS, int((at - now).total_seconds() + 0.999)))


# --- audiences ------------------------------------------------------------------------------------

def recipients(to: dict[str, Any]) -> list[str]:
    """The users an event is for, each once: its users, and the matching sellers and the outbid seller,
    found now. Never an auction's subscribers: they are connections, not an audience with a feed."""
    users = list(to.get(USERS) or [])
    if MATCHING in to:
        users += _matching_sellers(to[MATCHING], to.get("except"))
    if OUTBID in to:
        passed = _outbid_seller(**to[OUTBID])
        users += [passed] if passed else []
    return list(dict.fromkeys(user for user in users if user))


def _matching_sellers(facts: dict[str, Any], buyer_id: str | None) -> list[str]:
    """The sellers a new auction is offered to: with an active profile matching its call, open when the
    auction started and not blocking its caller."""
    call = routing.CallFacts(facts.get("country"), facts.get("state"), facts.get("call_type"),
                             tuple(facts.get("keywords") or ()), caller=facts.get("caller"))
    at = datetime.fromisoformat(facts["at"]) if facts.get("at") else clock.now()
    profiles = bid_profiles.offered(list(route_entries.profiles_for(call).values()), call, at)
    return sorted({p.seller_id for p in profiles if p.seller_id != buyer_id})


def _outbid_seller(auction_id: str, bidder: str, amount: int) -> str | None:
    standing = {b.seller_id: int(b.amount) for b in bid_shards.read_bids_of(auction_id)}
    return domain_events.outbid_seller(standing, bidder, amount)


# --- delivery -------------------------------------------------------------------------------------

@functools.cache
def pool() -> ThreadPoolExecutor:
    """One pool per process (a warm Lambda reuses it): an event goes to many connections and feeds at once."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="ws-send")


@dataclass
class Addressed:
    """An event as published: whom it is for, and the seq each of them gave it."""

    event: dict[str, Any]  # {"type", "event_id", "occurred_at", "data"}
    seqs: dict[str, int] = field(default_factory=dict)  # user -> seq in that user's feed
    auction: str | None = None  # an auction whose subscribers get it too


def deliver(published: list[Addressed]) -> dict[str, int]:
    """Sends each event to the open connections of its users (with their seq) and of its auction's subscribers;
    raises (and the stream delivers the record again) if a send fails other than with 410."""
    sent = gone = 0
    for addressed in published:
        envelopes: dict[str, dict[str, Any]] = {}  # connection -> what it is sent
        for user, ids in connections.of_users(list(addressed.seqs)).items():
            envelope = domain_events.public(addressed.event, addressed.seqs[user])
            if addressed.event["type"] == domain_events.BALANCE_CHANGED:
                envelope["data"] = {**envelope["data"], **balances(user)}
            for connection_id in ids:
                envelopes.setdefault(connection_id, envelope)
        if addressed.auction:
            for connection_id in connections.subscribers(addressed.auction):
                envelopes.setdefault(connection_id, domain_events.public(addressed.event))
        targets = list(envelopes)
        delivered = list(pool().map(lambda connection_id: websocket.send(connection_id, envelopes[connection_id]),
                                    targets))
        for connection_id, ok in zip(targets, delivered):
            if ok:
                sent += 1
            else:
                gone += 1
                connections.close(connection_id)
    return {"sent": sent, "gone": gone}


def balances(account_id: str) -> dict[str, str]:
    """The account as it stands when the event goes out (read only when its owner is connected)."""
    try:
        account = AccountModel.get(account_id, consistent_read=True)
    except AccountModel.DoesNotExist:
        return {}
    return {"balance": format_money(int(account.balance)), "earnings": format_money(int(account.earnings)),
            "held": format_money(int(account.held))}


# --- the events queue (the worker's side) ---------------------------------------------------------

def fan_out(message: dict[str, Any]) -> dict[str, int]:
    """One message of the events queue: what to close. (A message of events, as published before the outbox,
    is delivered to the connections of its audience, without seqs.)"""
    if CLOSE_USER in message:
        return _close(connections.of_users([message[CLOSE_USER]]).get(message[CLOSE_USER], []))
    if CLOSE_SESSION in message:
        return _close(connections.of_session(**message[CLOSE_SESSION]))
    if CLOSE_EXPIRED in message:
        return _close_expired(**message[CLOSE_EXPIRED])
    return deliver([Addressed({key: queued[key] for key in ("type", "event_id", "occurred_at", "data")},
                              {user: 0 for user in recipients(queued["to"])}, queued["to"].get(AUCTION))
                    for queued in message.get("events", [])])


def _close(connection_ids: list[str]) -> dict[str, int]:
    for connection_id in connection_ids:
        websocket.close(connection_id)
        connections.close(connection_id)
    return {"closed": len(connection_ids)}


def _close_expired(connection_id: str, expires_at: str) -> dict[str, int]:
    now, at = clock.now(), datetime.fromisoformat(expires_at)
    if at > now:  # came early (a delay longer than SQS allows is waited for in steps)
        queues.send(queues.EVENTS, {CLOSE_EXPIRED: {"connection_id": connection_id, "expires_at": expires_at}},
                    delay_seconds=_delay(at, now))
        return {"closed": 0}
    connection = connections.get(connection_id)
    if connection is None:
        return {"closed": 0}
    return _close([connection_id])

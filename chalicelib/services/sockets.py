"""The WebSocket API's three moments: a client connects (authenticated by its access token), sends
messages (ping, subscribe, unsubscribe, resume), and disconnects. Events reach it through
services/events.py; what it missed, through `resume` (services/event_history.py).

A socket lives no longer than the session it was opened with: it is closed when that session is revoked
(logout, a password change, refresh-token reuse, eviction by a newer login, suspension, a reset) and when
the access token it was opened with expires (services/events.py closes it). A user has at most
MAX_CONNECTIONS_PER_USER open sockets; a socket that sends more than MAX_MESSAGES_PER_SECOND messages in a
second is closed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.domain import events, tokens
from chalicelib.domain.errors import AuthenticationFailed, NotFound, RateLimited
from chalicelib.gateways import websocket
from chalicelib.persistence import connections, rate_counters
from chalicelib.persistence.connections import MAX_CONNECTIONS_PER_USER
from chalicelib.persistence.tables import AuctionModel, UserConnectionsModel
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.services import event_history
from chalicelib.services import events as realtime
from chalicelib.services.sessions import authenticate

MAX_MESSAGES_PER_SECOND = 10  # a client sending more is closed
RESUME_LIMIT = 100  # events sent for one resume; "more": true says to resume again from the last one


def connect(connection_id: str, token: str | None) -> None:
    """A browser cannot set headers on a WebSocket, so the access token comes as `?token=`. A missing,
    expired or revoked token (401), a suspended or deactivated user (403), or a user with
    MAX_CONNECTIONS_PER_USER open sockets already (429) is refused: the handshake fails and no connection is
    kept. The connection is closed when the token expires (a message delayed to then, owed by this commit)."""
    if not token:
        raise AuthenticationFailed("An access token is required (?token=)", code="MISSING_TOKEN")
    principal = authenticate(token)
    now = clock.now()
    expires_at = datetime.fromtimestamp(tokens.verify_access_token(get_settings(), token, now).expires_at,
                                        timezone.utc)
    for attempt in range(2):
        work = UnitOfWork()
        connections.open_connection(work, connection_id, principal.user_id, principal.account_type,
                                    principal.session_id, now, expires_at)
        realtime.close_when_expired(work, connection_id, expires_at, now)
        try:
            work.commit()
            return
        except TransactWriteError as error:
            if not any(isinstance(item, UserConnectionsModel) for item in failed_items(error)):
                raise
        if attempt or not connections.prune(principal.user_id, now):  # full of live connections
            break
    raise RateLimited(f"At most {MAX_CONNECTIONS_PER_USER} connections may be open at once",
                      code="TOO_MANY_CONNECTIONS")


def receive(connection_id: str, text: str | None) -> dict[str, Any]:
    """The answer to a client's message, sent back on its connection (and returned). A resume sends the
    missed events first, oldest first, then its answer."""
    now = clock.now()
    closing = False
    try:
        if _too_many(connection_id, now):
            raise _Closing("TOO_MANY_MESSAGES", f"More than {MAX_MESSAGES_PER_SECOND} messages a second: this "
                                                "connection is closed")
        reply = _answer(connection_id, events.parse_client_message(text), now)
    except events.ClientMessageError as error:
        reply, closing = error.as_message(), isinstance(error, _Closing)
    websocket.send(connection_id, reply)
    if closing:  # told why, then closed
        websocket.close(connection_id)
        connections.close(connection_id)
    return reply


class _Closing(events.ClientMessageError):
    """An error after which the server closes the connection."""


def _too_many(connection_id: str, now: datetime) -> bool:
    """One count per message, per connection and second (one UpdateItem)."""
    second = int(now.timestamp())
    counted = rate_counters.count(f"ws#{connection_id}#{second}", ("hits",), now + timedelta(minutes=1))
    return counted["hits"] > MAX_MESSAGES_PER_SECOND


def _answer(connection_id: str, message: events.ClientMessage, now: datetime) -> dict[str, Any]:
    if message.action == events.PING:
        return events.pong()
    connection = connections.get(connection_id)
    if connection is None:  # closed meanwhile (suspended, logged out, its token expired)
        raise _closed()
    if connection.expires_at is not None and connection.expires_at <= now:  # its closing may be on its way
        raise _Closing("TOKEN_EXPIRED", "The access token this connection was opened with has expired: connect "
                                        "again with a fresh one")
    if message.action == events.RESUME:
        return _resume(connection, message.after, now)
    if message.action == events.UNSUBSCRIBE:
        connections.unsubscribe(connection, message.auction_id)
        return {"type": "unsubscribed", "auction_id": message.auction_id}
    try:  # anyone signed in may see an auction (sellers must, to bid): it only has to exist
        AuctionModel.get(message.auction_id)
    except AuctionModel.DoesNotExist:
        raise events.ClientMessageError("AUCTION_NOT_FOUND", "Auction not found") from None
    if not connections.subscribe(connection, message.auction_id):
        raise _closed()
    return {"type": "subscribed", "auction_id": message.auction_id}


def _resume(connection: Any, after: str | None, now: datetime) -> dict[str, Any]:
    """The user's events after `after` (all kept ones without it), oldest first, each sent on its own, then
    the answer: the last one sent, and whether more follow (resume again from it)."""
    try:
        missed, more = event_history.missed(connection.user_id, after, now, RESUME_LIMIT)
    except NotFound:
        raise events.ClientMessageError("EVENT_NOT_FOUND", "No such event in the last 24 hours: read the current "
                                                           "state over HTTP, then resume without after") from None
    for event in missed:
        if not websocket.send(connection.connection_id, event):
            raise _closed()
    last = missed[-1] if missed else None
    return {"type": "resumed", "after": after, "count": len(missed), "more": more,
            "last_event_id": last["event_id"] if last else after, "last_seq": last["seq"] if last else None}


def _closed() -> events.ClientMessageError:
    return events.ClientMessageError("CONNECTION_CLOSED", "This connection has been closed")


def disconnect(connection_id: str) -> None:
    connections.close(connection_id)


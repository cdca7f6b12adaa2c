"""The WebSocket API's three moments: a client connects (authenticated by its access token), sends
messages (ping, subscribe, unsubscribe), and disconnects. Events reach it through services/events.py."""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.domain import events
from chalicelib.domain.errors import AuthenticationFailed
from chalicelib.gateways import websocket
from chalicelib.persistence import connections
from chalicelib.persistence.tables import AuctionModel
from chalicelib.services.sessions import authenticate


def connect(connection_id: str, token: str | None) -> None:
    """A browser cannot set headers on a WebSocket, so the access token comes as `?token=`. A missing,
    expired or revoked token (401) or a suspended or deactivated user (403) is refused: the handshake
    fails and no connection is kept."""
    if not token:
        raise AuthenticationFailed("An access token is required (?token=)", code="MISSING_TOKEN")
    principal = authenticate(token)
    connections.open_connection(connection_id, principal.user_id, principal.account_type, principal.session_id,
                                clock.now())


def receive(connection_id: str, text: str | None) -> dict[str, Any]:
    """The answer to a client's message, sent back on its connection (and returned)."""
    try:
        reply = _answer(connection_id, events.parse_client_message(text))
    except events.ClientMessageError as error:
        reply = error.as_message()
    websocket.send(connection_id, reply)
    return reply


def _answer(connection_id: str, message: events.ClientMessage) -> dict[str, Any]:
    if message.action == events.PING:
        return events.pong()
    connection = connections.get(connection_id)
    if connection is None:  # closed meanwhile (suspended, logged out everywhere)
        raise _closed()
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


def _closed() -> events.ClientMessageError:
    return events.ClientMessageError("CONNECTION_CLOSED", "This connection has been closed")


def disconnect(connection_id: str) -> None:
    connections.close(connection_id)

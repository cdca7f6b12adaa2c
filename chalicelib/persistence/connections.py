"""Open WebSocket connections and their auction subscriptions (the realtime API, services/sockets.py).

A connection is one item, keyed by API Gateway's connection id (what a message handler knows). Connections
are indexed by user in ws_user_connections: one item per user with the ids of its open connections, so
the connections of a hundred users (the sellers an auction.started goes to) are one BatchGetItem, not a
hundred Queries. A connection is opened in one transaction (sockets.connect's unit of work): the
connection, the ADD of its id to its user's set on condition that the set holds fewer than
MAX_CONNECTIONS_PER_USER ids, and what it owes (its closing when its access token expires). Ids whose
connection is gone are pruned from the set when it is full. Closing is two plain writes (the DELETE of the
id, then the connection): each way they can part heals itself (an id whose connection is gone answers 410
and is removed, or is pruned). A subscription is one item per
(auction, connection), so an auction's subscribers are one Query. All carry a TTL a little past API
Gateway's longest connection (2 hours): a connection whose $disconnect never ran disappears by itself, and
one that is gone when an event is sent to it (410) is removed then, from its user's item too.

The tables are declared in persistence/tables/connections.py.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import size

from chalicelib import clock
from chalicelib.persistence.tables import ConnectionModel, SubscriptionModel, UserConnectionsModel

if TYPE_CHECKING:
    from chalicelib.persistence.unit_of_work import UnitOfWork

# API Gateway closes a WebSocket connection after 2 hours at the most; items outlive that a little.
CONNECTION_LIFETIME = timedelta(hours=2, minutes=10)
MAX_CONNECTIONS_PER_USER = 10  # open sockets of one user; one more is refused


def open_connection(work: UnitOfWork, connection_id: str, user_id: str, account_type: str, session_id: str,
                    now: datetime, expires_at: datetime) -> ConnectionModel:
    """The connection and its id in its user's set, added to `work`: the user's set must have room (a
    cancelled commit whose failed item is the user's set means MAX_CONNECTIONS_PER_USER are open)."""
    connection = ConnectionModel(connection_id, user_id=user_id, account_type=account_type, session_id=session_id,
                                 connected_at=now, expires_at=expires_at, auctions=[],
                                 purge_at=now + CONNECTION_LIFETIME)
    work.save(connection)
    work.update(UserConnectionsModel(user_id),
                actions=[UserConnectionsModel.connection_ids.add({connection_id}),
                         UserConnectionsModel.purge_at.set(connection.purge_at)],
                condition=UserConnectionsModel.connection_ids.does_not_exist()
                | (size(UserConnectionsModel.connection_ids) < MAX_CONNECTIONS_PER_USER))
    return connection


def prune(user_id: str, now: datetime) -> int:
    """Takes out of a user's set the ids whose connection is gone (its $disconnect never ran) or whose
    access token has expired; answers how many were taken out."""
    ids = of_users([user_id]).get(user_id, [])
    live = {c.connection_id: c for c in ConnectionModel.batch_get(ids, consistent_read=True)} if ids else {}
    stale = {i for i in ids if i not in live or (live[i].expires_at is not None and live[i].expires_at <= now)}
    if stale:
        UserConnectionsModel(user_id).update(actions=[UserConnectionsModel.connection_ids.delete(stale)])
    return len(stale)


def of_session(user_id: str, session_id: str) -> list[str]:
    """The open connections of a user that were opened with this session."""
    ids = of_users([user_id]).get(user_id, [])
    if not ids:
        return []
    return sorted(c.connection_id for c in ConnectionModel.batch_get(ids, consistent_read=True,
                                                                      attributes_to_get=["connection_id", "session_id"])
                  if c.session_id == session_id)


def get(connection_id: str) -> ConnectionModel | None:
    try:
        return ConnectionModel.get(connection_id, consistent_read=True)
    except ConnectionModel.DoesNotExist:
        return None


def close(connection_id: str) -> None:
    """Forget a connection and its subscriptions (its $disconnect, or a 410 when sending to it)."""
    connection = get(connection_id)
    if connection is None:
        return
    # Its user's other connections are younger than now + the lifetime: the item outlives them.
    UserConnectionsModel(connection.user_id).update(actions=[
        UserConnectionsModel.connection_ids.delete({connection_id}),
        UserConnectionsModel.purge_at.set(clock.now() + CONNECTION_LIFETIME)])
    for auction_id in connection.auctions or ():
        SubscriptionModel(auction_id, connection_id).delete()
    connection.delete()


def subscribe(connection: ConnectionModel, auction_id: str) -> bool:
    """The subscription, and the auction on the connection (so that closing it removes the subscription).
    False when the connection has closed meanwhile (nothing is left behind)."""
    subscription = SubscriptionModel(auction_id, connection.connection_id, user_id=connection.user_id,
                                     purge_at=connection.purge_at)
    subscription.save()
    if auction_id not in (connection.auctions or []) and \
            not _set_auctions(connection, [*(connection.auctions or []), auction_id]):
        subscription.delete()
        return False
    return True


def unsubscribe(connection: ConnectionModel, auction_id: str) -> None:
    SubscriptionModel(auction_id, connection.connection_id).delete()
    if auction_id in (connection.auctions or []):
        _set_auctions(connection, [a for a in connection.auctions if a != auction_id])


def _set_auctions(connection: ConnectionModel, auctions: list[str]) -> bool:
    # Conditional: an update of a connection that closed meanwhile would create a partial item.
    try:
        connection.update(actions=[ConnectionModel.auctions.set(auctions)],
                          condition=ConnectionModel.connection_id.exists())
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
    return True


def subscribers(auction_id: str) -> list[str]:
    """The connection ids subscribed to an auction: one Query (more pages only past 1 MB)."""
    return [s.connection_id for s in SubscriptionModel.query(auction_id, attributes_to_get=["connection_id"])]


def of_users(user_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each user's open connection ids: one BatchGetItem per 100 users (users without any are left out)."""
    users = list(dict.fromkeys(u for u in user_ids if u))
    if not users:
        return {}
    return {item.user_id: sorted(item.connection_ids or ())
            for item in UserConnectionsModel.batch_get(users, attributes_to_get=["user_id", "connection_ids"])}

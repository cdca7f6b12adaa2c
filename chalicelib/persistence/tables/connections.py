"""WebSocket connection tables: a connection, the index of connections by user, and auction
subscriptions (persistence/connections.py reads and writes them)."""
from __future__ import annotations

from pynamodb.attributes import ListAttribute, TTLAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute

from chalicelib.persistence.base import BaseModel


class ConnectionModel(BaseModel):
    """An open WebSocket connection of an authenticated user."""

    class Meta(BaseModel.Meta):
        pass

    logical_name = "ws_connections"

    connection_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    account_type = UnicodeAttribute()
    session_id = UnicodeAttribute()
    connected_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute(null=True)  # its access token's expiry: it is closed then
    auctions = ListAttribute(of=UnicodeAttribute, default=list)  # its subscriptions, removed with it
    purge_at = TTLAttribute()


class UserConnectionsModel(BaseModel):
    """The index of connections by user: a user's open connection ids."""

    class Meta(BaseModel.Meta):
        pass

    logical_name = "ws_user_connections"

    user_id = UnicodeAttribute(hash_key=True)
    connection_ids = UnicodeSetAttribute(null=True)  # DynamoDB drops an emptied set
    purge_at = TTLAttribute()


class SubscriptionModel(BaseModel):
    """A connection that asked for an auction's bid events."""

    class Meta(BaseModel.Meta):
        pass

    logical_name = "ws_subscriptions"

    auction_id = UnicodeAttribute(hash_key=True)
    connection_id = UnicodeAttribute(range_key=True)
    user_id = UnicodeAttribute()
    purge_at = TTLAttribute()

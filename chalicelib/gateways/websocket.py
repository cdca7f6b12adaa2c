"""Sending to WebSocket clients: API Gateway's connection management API (`apigatewaymanagementapi`),
`POST /@connections/{id}` to send and `DELETE /@connections/{id}` to close. The same client code runs in
AWS and under `make run`, where settings.websocket_endpoint points at the local runtime's stand-in for the
API (local/connections_endpoint.py), which delivers to the sockets of its WebSocket server.
A connection that is gone answers 410 (GoneException): `send` and `close` then return False."""
from __future__ import annotations

import functools
import json
from typing import Any

from chalicelib.config import get_settings


@functools.cache
def _client() -> Any:
    """One client per process (a warm Lambda reuses it; it is thread-safe, so fan-outs share it)."""
    import boto3  # imported on first send only
    from botocore.config import Config

    settings = get_settings()
    if not settings.websocket_endpoint:
        raise RuntimeError("WEBSOCKET_ENDPOINT is not set: realtime messages have nowhere to go")
    return boto3.client("apigatewaymanagementapi", region_name=settings.region,
                        endpoint_url=settings.websocket_endpoint,
                        config=Config(retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=32,
                                      connect_timeout=2, read_timeout=5))


def send(connection_id: str, message: dict[str, Any]) -> bool:
    """Deliver one JSON message; False when the connection is gone (410)."""
    client = _client()
    try:
        client.post_to_connection(ConnectionId=connection_id, Data=json.dumps(message).encode())
    except client.exceptions.GoneException:
        return False
    return True


def close(connection_id: str) -> bool:
    """Close a connection from the server's side; False when it was gone already."""
    client = _client()
    try:
        client.delete_connection(ConnectionId=connection_id)
    except client.exceptions.GoneException:
        return False
    return True


def reset() -> None:
    """Forget the client (tests and the local runtime change endpoints)."""
    _client.cache_clear()

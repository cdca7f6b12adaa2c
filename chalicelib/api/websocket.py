"""The WebSocket API (API Gateway WebSocket API in AWS; local/websocket_server.py under
`make run`): $connect, every message ($default) and $disconnect, each a Lambda handler. app.py registers
these functions on the app under their own names (Chalice's websocket handlers live on the app, not on
blueprints), so Lambda's `app.<name>` finds them."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.errors import DomainError
from chalicelib.observability import logger
from chalicelib.services import sockets


def ws_connect(event: Any) -> dict:
    """Refusing answers a non-2xx status: API Gateway then fails the handshake with it."""
    token = (event.to_dict().get("queryStringParameters") or {}).get("token")
    try:
        sockets.connect(event.connection_id, token)
    except DomainError as error:
        logger.info("WebSocket connection refused", extra={"code": error.code})
        return {"statusCode": error.status}
    return {"statusCode": 200}


def ws_message(event: Any) -> dict:
    sockets.receive(event.connection_id, event.to_dict().get("body"))
    return {"statusCode": 200}


def ws_disconnect(event: Any) -> dict:
    sockets.disconnect(event.connection_id)
    return {"statusCode": 200}

"""The WebSocket API under `make run`: a real WebSocket server (the `websockets` library) at
ws://127.0.0.1:$WS_PORT/ws/events that does what API Gateway's WebSocket API does in AWS:

- the opening handshake calls the app's $connect handler with API Gateway's event (the query string
  carries `?token=`); a non-2xx answer refuses the handshake with that status;
- every message calls the $default handler; closing, from either side, calls $disconnect;
- the handlers are the ones Lambda calls (`app.handler_map`), run on a pool of threads, as Lambda runs
  them beside the socket;
- what the product sends goes through its own `apigatewaymanagementapi` client to the connection
  management endpoint (local/connections_endpoint.py), which calls `deliver` / `close` here.
"""
from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.dispatcher import LambdaContext
from chalicelib.observability import logger

PATH = "/ws/events"
SEND_TIMEOUT_SECONDS = 10
HANDSHAKE_TIMEOUT_SECONDS = 30  # API Gateway waits up to 29 s for the $connect integration
MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's WebSocket frame limit
INTERNAL_ERROR = '{"message": "Internal server error"}'  # what API Gateway sends when a handler fails
# Stopping: each client has this long to answer the closing handshake (1001, going away) before its socket is
# dropped, and every $disconnect handler together this long to return, so Ctrl-C takes seconds, not minutes.
SHUTDOWN_CLOSE_SECONDS = 1.0
SHUTDOWN_DISCONNECT_SECONDS = 3.0


def _connection_id() -> str:
    """API Gateway's ids are 12-character base64 strings ending in '='."""
    return base64.b64encode(uuid.uuid4().bytes[:8]).decode()


class LocalWebSocketServer:
    def __init__(self, app: Any, host: str, port: int = 0, stage: str = "api", handler_threads: int = 16,
                 sock: socket.socket | None = None):
        """Listens on `sock` (bound already) if given, else on host:port."""
        self.app, self.host, self.port, self.stage, self._sock = app, host, port, stage, sock
        self._pool = ThreadPoolExecutor(max_workers=handler_threads, thread_name_prefix="ws-handler")
        self._open: dict[str, Any] = {}  # connection id -> websockets connection
        self._connected_at: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{PATH}"

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> "LocalWebSocketServer":
        self._thread = threading.Thread(target=self._run, name="ws-server", daemon=True)
        self._thread.start()
        self._started.wait(30)
        if self._failure is not None:
            raise self._failure
        return self

    def stop(self) -> None:
        """As API Gateway going away: every open socket closed with 1001 and its $disconnect handler run,
        within SHUTDOWN_CLOSE_SECONDS + SHUTDOWN_DISCONNECT_SECONDS, then the handlers' threads let go."""
        if self._loop is not None and self._server is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        if self._thread is not None:
            self._thread.join(timeout=SHUTDOWN_CLOSE_SECONDS + SHUTDOWN_DISCONNECT_SECONDS + 1)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as error:  # noqa: BLE001 - reported to start()
            self._failure = error
            self._started.set()

    async def _serve(self) -> None:
        from websockets.asyncio.server import serve

        self._stopped = asyncio.Event()
        where = {"sock": self._sock} if self._sock is not None else {"host": self.host, "port": self.port}
        async with serve(self._handle, process_request=self._process_request, max_size=MAX_MESSAGE_BYTES,
                         compression=None, backlog=1024, ping_interval=None,
                         open_timeout=HANDSHAKE_TIMEOUT_SECONDS, **where) as server:
            self._server = server
            self.port = server.sockets[0].getsockname()[1]
            self._started.set()
            await self._stopped.wait()
            for connection in server.connections:  # a client that never answers the close is not waited for
                connection.close_timeout = SHUTDOWN_CLOSE_SECONDS
            server.close(close_connections=True, code=1001, reason="Going away")
            try:
                await asyncio.wait_for(server.wait_closed(),
                                       SHUTDOWN_CLOSE_SECONDS + SHUTDOWN_DISCONNECT_SECONDS)
            except asyncio.TimeoutError:
                logger.warning("WebSocket $disconnect handlers still running at shutdown: left behind")

    async def _shutdown(self) -> None:
        self._stopped.set()

    # --- API Gateway's side of a connection ------------------------------------------------------

    async def _process_request(self, connection: Any, request: Any) -> Any:
        """The opening handshake: the $connect handler decides."""
        url = urlsplit(request.path)
        if url.path != PATH:
            return connection.respond(404, "Not Found\n")
        connection_id = _connection_id()
        connection.connection_id = connection_id
        self._connected_at[connection_id] = int(time.time() * 1000)
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        event = self._event("$connect", "CONNECT", connection_id, connection, query=query,
                            headers={name: value for name, value in request.headers.raw_items()})
        try:
            answer = await self._invoke("$connect", event)
        except Exception:
            logger.exception("WebSocket $connect handler failed")
            answer = {"statusCode": 500}
        status = int((answer or {}).get("statusCode", 200))
        if not 200 <= status < 300:
            self._connected_at.pop(connection_id, None)
            return connection.respond(status, "Forbidden\n" if status == 403 else "Unauthorized\n"
                                      if status == 401 else "Refused\n")
        self._open[connection_id] = connection
        return None

    async def _handle(self, connection: Any) -> None:
        connection_id = connection.connection_id
        try:
            async for message in connection:
                text = message if isinstance(message, str) else message.decode("utf-8", errors="replace")
                event = self._event("$default", "MESSAGE", connection_id, connection, body=text)
                try:
                    await self._invoke("$default", event)
                except Exception:
                    logger.exception("WebSocket message handler failed")
                    await connection.send(INTERNAL_ERROR)
        except Exception:  # the client went away mid-message
            pass
        finally:
            self._open.pop(connection_id, None)
            event = self._event("$disconnect", "DISCONNECT", connection_id, connection)
            self._connected_at.pop(connection_id, None)
            try:
                await self._invoke("$disconnect", event)
            except Exception:
                logger.exception("WebSocket $disconnect handler failed")

    async def _invoke(self, route_key: str, event: dict) -> Any:
        """The handler Lambda would call for this route, with API Gateway's event, on a handler thread."""
        config = self.app.websocket_handlers.get(route_key) or self.app.websocket_handlers.get("$default")
        handler = self.app.handler_map[config.name]
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, lambda: handler(event, LambdaContext(config.name, timeout_seconds=29)))

    def _event(self, route_key: str, event_type: str, connection_id: str, connection: Any, **parts: Any) -> dict:
        return api_gateway_event(
            route_key, event_type, connection_id, stage=self.stage, domain_name=f"{self.host}:{self.port}",
            connected_at=self._connected_at.get(connection_id),
            source_ip=connection.remote_address[0] if connection.remote_address else "127.0.0.1",
            close_code=getattr(connection, "close_code", None), **parts)

    # --- the connection management endpoint's side (connections_endpoint.Sockets) ---------------------

    def deliver(self, connection_id: str, data: bytes) -> bool:
        connection = self._open.get(connection_id)
        if connection is None or self._loop is None:
            return False
        text = data.decode("utf-8", errors="replace")
        try:
            asyncio.run_coroutine_threadsafe(connection.send(text), self._loop).result(timeout=SEND_TIMEOUT_SECONDS)
        except Exception:  # closed meanwhile
            return False
        return True

    def close(self, connection_id: str) -> bool:
        connection = self._open.pop(connection_id, None)
        if connection is None or self._loop is None:
            return False
        # API Gateway closes with 1000 when the connection management API deletes a connection.
        asyncio.run_coroutine_threadsafe(connection.close(1000, "Closed by the server"), self._loop)
        return True

    def info(self, connection_id: str) -> dict | None:
        connection = self._open.get(connection_id)
        if connection is None:
            return None
        return {"connectedAt": self._connected_at.get(connection_id), "identity": {
            "sourceIp": connection.remote_address[0] if connection.remote_address else "127.0.0.1"}}


def api_gateway_event(route_key: str, event_type: str, connection_id: str, *, stage: str = "api",
                      domain_name: str = "127.0.0.1", connected_at: int | None = None, source_ip: str = "127.0.0.1",
                      body: str | None = None, query: dict | None = None, headers: dict | None = None,
                      close_code: int | None = None) -> dict:
    """The event API Gateway's WebSocket API gives a Lambda integration for $connect (CONNECT), a message
    (MESSAGE) or $disconnect (DISCONNECT)."""
    now = int(time.time() * 1000)
    context = {
        "routeKey": route_key, "eventType": event_type, "messageDirection": "IN",
        "extendedRequestId": str(uuid.uuid4()), "requestId": str(uuid.uuid4()),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()), "requestTimeEpoch": now,
        "stage": stage, "domainName": domain_name, "apiId": "local", "connectionId": connection_id,
        "connectedAt": connected_at or now, "identity": {"sourceIp": source_ip},
    }
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if event_type == "MESSAGE":
        context["messageId"] = str(uuid.uuid4())
        event["body"] = body
    if event_type == "CONNECT":
        event["headers"] = headers or {}
        event["multiValueHeaders"] = {k: [v] for k, v in (headers or {}).items()}
        if query:
            event["queryStringParameters"] = query
            event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    if event_type == "DISCONNECT":
        context["disconnectStatusCode"] = close_code or 1005
    return event

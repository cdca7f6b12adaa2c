"""`make run`: the whole product on this machine, with no cloud and no credentials.

- emulated AWS: moto server on loopback, tables and queues created from the production definitions;
- the Chalice app served on http://127.0.0.1:$PORT/api/v1 (default 8000);
- the WebSocket API on ws://127.0.0.1:$WS_PORT/ws/events (default PORT + 1, printed), calling the app's websocket
  handlers as API Gateway does, with a stand-in for its connection management API that the product's
  `apigatewaymanagementapi` client is pointed at (WEBSOCKET_ENDPOINT);
- a dispatcher delivering SQS messages and scheduled events to the app's own handlers;
- the local Twilio emulator, to which the real twilio SDK is pointed (unless TWILIO_ACCOUNT_SID is set:
  then the same code talks to Twilio itself);
- one admin account (ADMIN_EMAIL / ADMIN_PASSWORD, or generated and printed);
- for tests, with LOCAL_CLOCK_CONTROL_PORT set: a clock they can move forward (local/clock.py).
Ctrl-C (or SIGTERM) stops every part, even when started with SIGINT ignored (a background job).
"""
from __future__ import annotations

import faulthandler
import os
import secrets
import signal
import socket
import sys
import threading

LOOPBACK = "127.0.0.1"


def _start_twilio():
    """The emulator, unless real Twilio credentials are in the environment."""
    if os.environ.get("TWILIO_ACCOUNT_SID"):
        return None
    from local.twilio_emulator import TwilioEmulator

    emulator = TwilioEmulator(host=LOOPBACK, port=int(os.environ.get("TWILIO_EMULATOR_PORT", "0"))).start()
    os.environ.update({"TWILIO_API_BASE_URL": emulator.url, "TWILIO_ACCOUNT_SID": emulator.account_sid,
                       "TWILIO_AUTH_TOKEN": emulator.auth_token})
    return emulator


def _start_clock_control():
    """With LOCAL_CLOCK_CONTROL_PORT set: a clock tests can move forward (local/clock.py)."""
    port = os.environ.get("LOCAL_CLOCK_CONTROL_PORT")
    if port is None:
        return None
    from local.clock import ClockControl, LocalClock

    clock = LocalClock()
    clock.install()
    return ClockControl(clock, LOOPBACK, int(port)).start()


def _local_environment(aws_url: str, port: int) -> None:
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{LOOPBACK}:{port}")
    os.environ.update({
        "STAGE": os.environ.get("STAGE", "local"),
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "DYNAMODB_ENDPOINT": aws_url,
        "SQS_ENDPOINT": aws_url,
        "SES_ENDPOINT": aws_url,
        "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),  # no EMF in the console
    })
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    # A fresh secret per run: tokens from an earlier run are worthless, as its data is gone.
    os.environ.setdefault("JWT_SECRET", secrets.token_urlsafe(48))


def _bind_connections_endpoint():
    """The stand-in for API Gateway's connection management API, bound now so that the product's client
    (gateways/websocket.py) is configured with its URL before settings are read; it serves once the
    WebSocket server it delivers to has started."""
    from local.connections_endpoint import ConnectionsEndpoint

    endpoint = ConnectionsEndpoint(LOOPBACK, int(os.environ.get("WEBSOCKET_ENDPOINT_PORT", "0")))
    os.environ["WEBSOCKET_ENDPOINT"] = endpoint.url
    return endpoint


def _bind_websocket_port(port: int) -> socket.socket:
    """The WebSocket API's port, bound first, before this process opens any connection of its own (an
    outgoing connection may be given any free port, PORT + 1 too): WS_PORT if set (0: any free port), else
    PORT + 1, or any free port when another program holds that one (the URL printed says which)."""
    wanted = os.environ.get("WS_PORT")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, int(wanted) if wanted else port + 1))
    except OSError:
        if wanted:
            raise
        sock.bind((LOOPBACK, 0))
    return sock


def _start_websockets(app, ws_socket: socket.socket, connections_endpoint):
    """The WebSocket API (on its bound port), delivering what the endpoint is sent."""
    from local.websocket_server import LocalWebSocketServer

    server = LocalWebSocketServer(app, LOOPBACK, sock=ws_socket).start()
    connections_endpoint.start(server)
    return server


def start_aws():
    import logging

    from moto.server import ThreadedMotoServer

    from local.atomic_moto import make_dynamodb_requests_atomic

    make_dynamodb_requests_atomic()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log drowns ours
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=int(os.environ.get("AWS_PORT", "0")), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def _admin_credentials() -> tuple[str, str, bool]:
    email = os.environ.get("ADMIN_EMAIL", "admin@example.com")
    password = os.environ.get("ADMIN_PASSWORD")
    if password:
        return email, password, False
    return email, "Adm1n!" + secrets.token_urlsafe(12), True


class _Stopper:
    """Ctrl-C (SIGINT) and SIGTERM stop the runtime: the HTTP server's loop ends, then every part stops.

    Both handlers are installed explicitly, whatever the parent left: a process started from a
    background job of a non-interactive shell (`make run &` in a script, a test fixture's shell)
    inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler, so Ctrl-C would
    do nothing. A signal that arrives while the runtime is still starting stops it once it has started.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._server = None

    def install(self) -> None:
        for signum in self.SIGNALS:
            signal.signal(signum, self._on_signal)

    def serve(self, server) -> None:
        """Serve until a stop signal: returns at once if one came before."""
        self._server = server
        if not self.requested.is_set():
            server.serve_forever()

    def _on_signal(self, signum: int, _frame) -> None:
        if self.requested.is_set():
            return
        self.requested.set()
        if self._server is not None:
            # The handler runs on the main thread, inside serve_forever: shutdown() waits for that loop
            # to end, so it is called from another thread. A shutdown requested before serve_forever
            # starts makes it return at once.
            threading.Thread(target=self._server.shutdown, name="shutdown", daemon=True).start()


def main() -> int:
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    stopper = _Stopper()
    stopper.install()
    port = int(os.environ.get("PORT", "8000"))
    ws_socket = _bind_websocket_port(port)
    moto_server, aws_url = start_aws()
    clock_control = _start_clock_control()
    _local_environment(aws_url, port)
    connections_endpoint = _bind_connections_endpoint()
    twilio_emulator = _start_twilio()

    from chalicelib.config import get_settings, reset_settings
    from chalicelib.gateways import mail, queues
    from local.dispatcher import Dispatcher
    from local.mailbox import Mailbox
    from local.provision import provision
    from local.server import create_server
    from chalicelib.services.accounts import ensure_admin

    reset_settings()
    queues.reset()
    mail.reset()
    provision()
    email, password, generated = _admin_credentials()
    created = ensure_admin(email, password)

    from app import app  # after the environment is set: settings are read lazily, but read once

    settings = get_settings()
    dispatcher = Dispatcher(app, queues._client(), settings.queue_name, settings.region,
                            schedule_scale=float(os.environ.get("SCHEDULE_SCALE", "1")))
    dispatcher.start()
    mailbox = Mailbox().start()  # prints each mail the product sends (SES is moto's)
    server = create_server(app, LOOPBACK, port)
    websocket_server = _start_websockets(app, ws_socket, connections_endpoint)
    print(f"Call exchange running at http://{LOOPBACK}:{port}/api/v1", flush=True)
    print(f"  websocket: {websocket_server.url}", flush=True)
    print(f"  emulated AWS (moto server): {aws_url}", flush=True)
    if twilio_emulator:
        print(f"  Twilio emulator: {twilio_emulator.url}", flush=True)
    if clock_control:
        print(f"  clock control: {clock_control.url}", flush=True)
    if created and generated:
        print(f"  admin: {email} / {password}  (set ADMIN_EMAIL and ADMIN_PASSWORD to choose)", flush=True)
    elif created:
        print(f"  admin: {email} (password from ADMIN_PASSWORD)", flush=True)
    print("Ready. Ctrl-C stops everything.", flush=True)
    try:
        stopper.serve(server)
    finally:
        server.server.server_close()
        websocket_server.stop()
        connections_endpoint.stop()
        dispatcher.stop()
        mailbox.stop()
        if twilio_emulator:
            twilio_emulator.stop()
        if clock_control:
            clock_control.stop()
        moto_server.stop()
        print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    status = main()
    # Every part has stopped. Tearing down the interpreter would free the emulated AWS state object by
    # object (seconds after a long session) for nothing: the process ends here.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

"""`make run`: the whole product on this machine, with no cloud and no credentials.

- emulated AWS: moto server on loopback, tables and queues created from the production definitions;
- the Chalice app served on http://127.0.0.1:$PORT/api/v1 (default 8000);
- the WebSocket API on ws://127.0.0.1:$WS_PORT/ws/events (default PORT + 1, printed), calling the app's websocket
  handlers as API Gateway does, with a stand-in for its connection management API that the product's
  `apigatewaymanagementapi` client is pointed at (WEBSOCKET_ENDPOINT);
- a dispatcher delivering SQS messages and scheduled events to the app's own handlers;
- the local Twilio emulator, to which the real twilio SDK is pointed (unless TWILIO_ACCOUNT_SID is set:
  then the same code talks to Twilio itself);
- the local Stripe emulator (STRIPE_EMULATOR_PORT), to which the real stripe SDK is pointed and which sends its
  signed webhooks to the product (unless STRIPE_SECRET_KEY is set: then Stripe itself); the webhook secret
  both share is STRIPE_WEBHOOK_SECRET, or generated and printed;
- one admin account (ADMIN_EMAIL / ADMIN_PASSWORD, or generated and printed);
- for tests, with LOCAL_CLOCK_CONTROL_PORT set: a clock they can move forward (local/clock.py);
- its data kept in a data folder (DATA_DIR, default .data/ in the checkout; FRESH=1 empties it first): a
  snapshot of emulated AWS and the Twilio emulator every SNAPSHOT_SECONDS when something changed and on
  stopping (local/snapshot.py), restored on the next start; the JWT secret and the generated admin password
  beside it (local/data_folder.py).
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


def _start_stripe(port: int):
    """The Stripe emulator, delivering its events to this runtime's webhook, unless a Stripe key is set."""
    if os.environ.get("STRIPE_SECRET_KEY"):
        return None
    from local.stripe_emulator import StripeEmulator

    emulator = StripeEmulator(host=LOOPBACK, port=int(os.environ.get("STRIPE_EMULATOR_PORT", "0")),
                              webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET"),
                              webhook_url=f"http://{LOOPBACK}:{port}/api/v1/webhooks/stripe").start()
    os.environ.update({"STRIPE_API_BASE": emulator.url, "STRIPE_SECRET_KEY": emulator.secret_key,
                       "STRIPE_WEBHOOK_SECRET": emulator.webhook_secret})
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
    # Webhook receivers and RTB bidders on a developer's laptop: http on the loopback (never in AWS).
    os.environ.setdefault("ALLOW_LOOPBACK_CALLBACKS", "true")
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

    from local.atomic_moto import make_moto_atomic

    make_moto_atomic()  # atomic DynamoDB requests, and consistent snapshots (local/snapshot.py)
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
    # Letters, digits, "-" and "_" only: pasted into `export ADMIN_PASSWORD=...` no shell reads anything
    # into it (a "!" is bash's history expansion).
    return email, "Adm1n-" + secrets.token_urlsafe(12), True


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


def _open_data_folder():
    """The data folder, taken (one runtime per folder), emptied first with FRESH=1, and the state its snapshot
    holds (None: nothing saved yet)."""
    from local import snapshot
    from local.data_folder import DataFolder, truthy

    if not os.environ.get("DATA_DIR") and ("PYTEST_CURRENT_TEST" in os.environ or "PYTEST_XDIST_WORKER" in os.environ):
        raise RuntimeError("started by a test without DATA_DIR: it would use the data of the developer's "
                           "`make run` (.data/); give it a temporary DATA_DIR")
    folder = DataFolder.from_environment().lock()
    if truthy(os.environ.get("FRESH")):
        folder.empty()
    saved = snapshot.read(folder.snapshot)[1] if folder.snapshot.exists() else None
    return folder, saved


def _announce_admin(folder, email: str, password: str, generated: bool, created: bool) -> None:
    from local.data_folder import ADMIN_PASSWORD

    if created and generated:
        kept = folder.remember_admin_password(email, password)
        print(f"  admin: {email} / {password}  (set ADMIN_EMAIL and ADMIN_PASSWORD to choose; kept in "
              f"{folder.shown}{kept.name})", flush=True)
    elif created:
        print(f"  admin: {email} (password from ADMIN_PASSWORD)", flush=True)
    elif generated:
        where = f", kept in {folder.shown}{ADMIN_PASSWORD}" if folder.admin_password(email) else ""
        print(f"  admin: {email} exists (its password is the one printed when it was made{where})", flush=True)
    else:
        print(f"  admin: {email} exists (ADMIN_PASSWORD sets the password of an admin being made only)", flush=True)


# The ports a person may choose, and the variable that chooses each (0: any free port).
PORT_VARIABLES = (("PORT", "8000"), ("WS_PORT", None), ("TWILIO_EMULATOR_PORT", "0"), ("STRIPE_EMULATOR_PORT", "0"),
                  ("LOCAL_CLOCK_CONTROL_PORT", None))


def taken_port() -> str | None:
    """One line naming the first chosen port another program holds and the variable that moves it, or None.
    Checked before anything starts, so a port in use ends `make run` with that line, not a traceback."""
    for variable, default in PORT_VARIABLES:
        port = int(os.environ.get(variable) or default or 0)
        if not port:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: a listener fails it
            try:
                probe.bind((LOOPBACK, port))
            except OSError:
                return (f"make run: port {port} is in use (another make run?); choose another with "
                        f"{variable}=<port>, e.g. make run {variable}={port + 10}")
    return None


def main() -> int:
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    stopper = _Stopper()
    stopper.install()
    from local import snapshot
    from local.data_folder import FolderInUse

    taken = taken_port()
    if taken:
        print(taken, file=sys.stderr, flush=True)
        return 1
    try:
        seconds = snapshot.snapshot_seconds()
        folder, saved = _open_data_folder()
    except (FolderInUse, snapshot.SnapshotError, RuntimeError, OSError) as error:
        print(f"make run: {error}", file=sys.stderr, flush=True)
        return 1
    port = int(os.environ.get("PORT", "8000"))
    ws_socket = _bind_websocket_port(port)
    # What clients connect to (GET /api/v1/config tells the console; its CSP allows it).
    os.environ["WEBSOCKET_URL"] = f"ws://{LOOPBACK}:{ws_socket.getsockname()[1]}/ws/events"
    moto_server, aws_url = start_aws()
    clock_control = _start_clock_control()
    clock = clock_control.clock if clock_control else None
    _local_environment(aws_url, port)
    if not os.environ.get("JWT_SECRET"):  # else the data folder's: tokens outlive a restart as their sessions do
        os.environ["JWT_SECRET"] = folder.jwt_secret()
    connections_endpoint = _bind_connections_endpoint()
    twilio_emulator = _start_twilio()
    webhook_secret_given = bool(os.environ.get("STRIPE_WEBHOOK_SECRET"))
    stripe_emulator = _start_stripe(port)
    # Before the first request: what the last run kept (moto's backends, the emulators' accounts, the clock).
    resumed = snapshot.restore(saved, twilio_emulator, clock, stripe_emulator) if saved is not None else None

    from chalicelib.config import get_settings, reset_settings
    from chalicelib.gateways import mail, queues, stripe_gateway
    from local.dispatcher import Dispatcher
    from local.mailbox import Mailbox
    from local.provision import provision
    from local.server import create_server
    from chalicelib.observability import logger
    from chalicelib.services.accounts import ensure_admin

    reset_settings()
    queues.reset()
    mail.reset()
    stripe_gateway.reset()
    provision(resumed=resumed is not None)  # what is missing; resumed tables and queues keep what they hold
    email, password, generated = _admin_credentials()
    created = ensure_admin(email, password)
    snapshotter = snapshot.Snapshotter(
        folder.snapshot, seconds, twilio_emulator, clock, carried=saved,
        on_error=lambda error: logger.exception("Saving make run's data failed", extra={"folder": str(folder.path)}),
        stripe=stripe_emulator)
    snapshotter.start()

    from app import app  # after the environment is set: settings are read lazily, but read once

    settings = get_settings()
    dispatcher = Dispatcher(app, queues._client(), settings.queue_name, settings.region,
                            schedule_scale=float(os.environ.get("SCHEDULE_SCALE", "1")))
    dispatcher.start()
    mailbox = Mailbox().start()  # prints each mail the product sends (SES is moto's)
    server = create_server(app, LOOPBACK, port)
    websocket_server = _start_websockets(app, ws_socket, connections_endpoint)
    print(f"Call exchange running at http://{LOOPBACK}:{port}/api/v1", flush=True)
    print(f"  console: http://{LOOPBACK}:{port}/  (API reference: http://{LOOPBACK}:{port}/api/v1/docs)", flush=True)
    print(f"  websocket: {websocket_server.url}", flush=True)
    print(f"  emulated AWS (moto server): {aws_url}", flush=True)
    if twilio_emulator:
        print(f"  Twilio emulator: {twilio_emulator.url}", flush=True)
    if stripe_emulator:
        print(f"  Stripe emulator: {stripe_emulator.url}", flush=True)
        if not webhook_secret_given:
            print(f"  Stripe webhook secret: {stripe_emulator.webhook_secret} (set STRIPE_WEBHOOK_SECRET to choose)",
                  flush=True)
    if clock_control:
        print(f"  clock control: {clock_control.url}", flush=True)
    if resumed is not None:
        print(f"  data: resumed {folder.shown}: {resumed.describe()}", flush=True)
    else:
        print(f"  data: started empty, kept in {folder.shown} (make run FRESH=1, or make reset, empties it)",
              flush=True)
    _announce_admin(folder, email, password, generated, created)
    print("Ready. Ctrl-C stops everything.", flush=True)
    status = 0
    try:
        stopper.serve(server)
    finally:
        server.server.server_close()
        # The dispatcher's handlers finish (3 s at most: a message left unfinished comes back after its
        # visibility timeout, as in SQS) while every socket is closed as going away (1001) and its
        # $disconnect handler runs (4 s at most, a second in practice).
        draining = threading.Thread(target=dispatcher.stop, kwargs={"grace_seconds": 3}, name="drain")
        draining.start()
        websocket_server.stop()
        connections_endpoint.stop()
        draining.join()
        mailbox.stop()
        if twilio_emulator:
            twilio_emulator.stop()
        if stripe_emulator:
            stripe_emulator.stop()
        if clock_control:
            clock_control.stop()
        try:  # nothing changes any more: the last snapshot, before moto goes
            snapshotter.stop()
            kept = snapshot.Contents(**snapshot.read_header(folder.snapshot)["contents"])
            print(f"Data kept in {folder.shown}: {kept.describe()}", flush=True)
        except Exception as error:  # noqa: BLE001 - said, and the exit status says it too
            print(f"make run: saving the data in {folder.shown} failed: {error!r}", file=sys.stderr, flush=True)
            status = 1
        moto_server.stop()
        folder.unlock()
        print("Stopped.", flush=True)
    return status


if __name__ == "__main__":
    status = main()
    # Every part has stopped. Tearing down the interpreter would free the emulated AWS state object by
    # object (seconds after a long session) for nothing: the process ends here.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

"""The Chalice app: every API and worker blueprint, registered in one place."""
from chalice import Chalice

from chalicelib.api import (admin, analytics, auctions, bid_profiles, bids, billing, calls, compliance, console,
                            events, funding, identity, notifications, numbers, payouts, rtb, system, webhooks,
                            webhook_endpoints)
from chalicelib.api import websocket
from chalicelib.api.http import API_PREFIX, envelope_chalice_errors
from chalicelib.observability import flush_after
from chalicelib.workers import auctions as auction_workers
from chalicelib.workers import bind_tables
from chalicelib.workers import events as event_worker
from chalicelib.workers import funding as funding_worker
from chalicelib.workers import holds as hold_worker
from chalicelib.workers import ledger as ledger_worker
from chalicelib.workers import notifications as notification_worker
from chalicelib.workers import numbers as number_workers
from chalicelib.workers import outbox as outbox_worker
from chalicelib.workers import payouts as payout_worker
from chalicelib.workers import suspensions
from chalicelib.workers import webhooks as webhook_worker

app = Chalice(app_name="call-exchange")
app.register_middleware(envelope_chalice_errors, "http")
app.register_middleware(flush_after, "all")
for event_type in ("sqs", "dynamodb", "scheduled", "websocket"):
    app.register_middleware(bind_tables, event_type)

for module in (system, identity, admin, billing, notifications, events, numbers, analytics, calls, bid_profiles,
               auctions, bids, compliance, webhooks, funding, payouts, rtb, webhook_endpoints, console):
    app.register_blueprint(module.api.blueprint, url_prefix=API_PREFIX)
# The web console's pages and files (chalicelib/console/), outside /api/v1.
app.register_blueprint(console.pages)

for worker in (notification_worker, suspensions, number_workers, auction_workers, event_worker, hold_worker,
               outbox_worker, funding_worker, payout_worker, webhook_worker, ledger_worker):
    app.register_blueprint(worker.bp)

# The realtime API (chalicelib/api/websocket.py): an API Gateway WebSocket API in AWS, a WebSocket server
# under `make run`. Its handlers live on the app itself, under these names (Lambda calls app.<name>).
app.experimental_feature_flags.update(["WEBSOCKETS"])
ws_connect = app.on_ws_connect()(websocket.ws_connect)
ws_message = app.on_ws_message()(websocket.ws_message)
ws_disconnect = app.on_ws_disconnect()(websocket.ws_disconnect)

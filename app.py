"""The Chalice app: every API and worker blueprint, registered in one place."""
from chalice import Chalice

from chalicelib.api import (admin, analytics, auctions, bid_profiles, bids, billing, calls, compliance, identity,
                            notifications, numbers, system, webhooks)
from chalicelib.http import API_PREFIX, envelope_chalice_errors
from chalicelib.workers import auctions as auction_workers
from chalicelib.workers import bind_tables
from chalicelib.workers import notifications as notification_worker
from chalicelib.workers import numbers as number_workers
from chalicelib.workers import suspensions

app = Chalice(app_name="call-exchange")
app.register_middleware(envelope_chalice_errors, "http")
for event_type in ("sqs", "scheduled"):
    app.register_middleware(bind_tables, event_type)

for module in (system, identity, admin, billing, notifications, numbers, analytics, calls, bid_profiles, auctions,
               bids, compliance, webhooks):
    app.register_blueprint(module.api.blueprint, url_prefix=API_PREFIX)

for worker in (notification_worker, suspensions, number_workers, auction_workers):
    app.register_blueprint(worker.bp)

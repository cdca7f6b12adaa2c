"""Shared fixtures: emulated AWS in-process (moto), the app through chalice.test.Client, a movable clock."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from local.atomic_moto import make_dynamodb_requests_atomic

# Tests never talk to real AWS, and never read credentials from the machine.
os.environ.update({
    "POWERTOOLS_METRICS_DISABLED": "true",  # no EMF documents in the output (a test that reads them enables them)
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "STAGE": "test",
    "JWT_SECRET": "test-only-secret-0123456789abcdef0123456789abcdef",
    # Suites make many requests per user and all come from one address: rate limits out of their way (the
    # end-to-end runtime inherits them). tests/security lowers them where it tests them.
    "RATE_LIMIT_PER_MINUTE": "1000000",
    "AUTH_RATE_LIMIT_PER_MINUTE": "1000000",
    "NUMBER_SEARCH_RATE_LIMIT_PER_MINUTE": "1000000",
    "PURCHASE_RATE_LIMIT_PER_MINUTE": "1000000",
})
for name in ("DYNAMODB_ENDPOINT", "SQS_ENDPOINT", "AWS_PROFILE"):
    os.environ.pop(name, None)

# Every emulated DynamoDB request atomic, as in AWS, for in-process moto and moto server alike.
make_dynamodb_requests_atomic()


# `make test` runs on two xdist workers (--dist loadgroup). Tests that share an expensive session or module
# fixture go to one worker, so it is built once, not once per worker: the end-to-end tests (one `make run`
# runtime, the `product` fixture) and `chalice package` of each stage (tests/infra, the `packaged` fixture).
# By node id: the controller schedules node ids (xdist's own xdist_group marks do not reach them under
# pytest 9, which no longer has the attribute xdist rewrites).
# Schemathesis, the README story and the restarts of test_persistence each start runtimes of their own: each
# is its own group (listed before the shared runtime's, as the first prefix that matches wins), so they run
# beside the other end-to-end tests.
SHARED_FIXTURE_GROUPS = (("tests/e2e/test_schemathesis.py", "schemathesis"), ("tests/e2e/test_readme.py", "readme"),
                         ("tests/e2e/test_persistence.py", "persistence"), ("tests/e2e/", "e2e-runtime"),
                         ("tests/infra/test_infra.py::test_packaged_", "chalice-package"))


def shared_fixture_group(nodeid: str) -> str | None:
    return next((group for prefix, group in SHARED_FIXTURE_GROUPS if nodeid.startswith(prefix)), None)


# Single tests that run for most of a minute. xdist sends units out by size (a group's count of tests), and
# single tests in collection order, so one of these collected late would start last and run alone at the
# end; collected first, each starts while the other worker still has plenty to do.
LONG_FIRST = ("tests/chaos/", "tests/e2e/test_schemathesis.py", "tests/api/test_partition_heat.py",
              "tests/api/test_exchange_concurrency.py", "tests/api/test_holds_properties.py")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: not item.nodeid.startswith(LONG_FIRST))  # stable: the rest keep their order


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # optional: pytest -p no:xdist knows no such hook
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class SharedFixtureScheduling(LoadGroupScheduling):
        """xdist's loadgroup (each test its own unit, a group one unit on one worker), with the groups above.
        Units go out largest first, so the end-to-end group starts at once and the rest fill the other worker."""

        def _split_scope(self, nodeid: str) -> str:
            return shared_fixture_group(nodeid) or super()._split_scope(nodeid)

    return SharedFixtureScheduling(config, log)


class Clock:
    def __init__(self) -> None:
        self.current = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock():
    from chalicelib import clock as clock_module

    fake = Clock()
    clock_module.set_clock(fake)
    yield fake
    clock_module.set_clock(None)


@pytest.fixture(scope="session")
def twilio_emulator():
    """The local Twilio emulator; the app's real twilio SDK is pointed at it by configuration."""
    from chalicelib.gateways import twilio
    from local.twilio_emulator import TwilioEmulator

    with TwilioEmulator() as emulator:
        os.environ.update({"TWILIO_API_BASE_URL": emulator.url, "TWILIO_ACCOUNT_SID": emulator.account_sid,
                           "TWILIO_AUTH_TOKEN": emulator.auth_token})
        twilio._sleep = lambda seconds: None  # retries back off without waiting
        yield emulator


@pytest.fixture(scope="session")
def stripe_emulator():
    """The local Stripe emulator; the app's real stripe SDK is pointed at it by configuration. Its events are
    not sent anywhere: a test hands them to the app (tests/api/test_stripe_funding.py)."""
    from chalicelib.gateways import stripe_gateway
    from local.stripe_emulator import StripeEmulator

    with StripeEmulator() as emulator:
        os.environ.update({"STRIPE_API_BASE": emulator.url, "STRIPE_SECRET_KEY": emulator.secret_key,
                           "STRIPE_WEBHOOK_SECRET": emulator.webhook_secret})
        stripe_gateway.reset()
        yield emulator


@pytest.fixture(scope="session")
def _emulated_aws(twilio_emulator, stripe_emulator):
    """Emulated DynamoDB and SQS (moto, in-process) with every table and queue of the product.
    Provisioned once: creating botocore clients and tables costs about a second."""
    from moto import mock_aws

    from chalicelib.config import reset_settings
    from chalicelib.gateways import queues
    from local.provision import provision
    from chalicelib.persistence import db

    with mock_aws():
        reset_settings()
        queues.reset()
        db._bound_to = None
        provision()
        yield
        queues.reset()


def _empty_emulated_aws() -> None:
    """Every table and every queue of in-process moto emptied, in moto's own state: a scan and a batch
    delete per table and a queue re-created per queue cost ~0.1 s before every test; this costs nothing.
    Tables keep their definitions and queues their attributes (moto 5: items in Table.items, from which
    indexes are read too; messages in Queue._messages, as PurgeQueue clears them)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    from chalicelib.config import get_settings
    from chalicelib.gateways import queues

    for account in dynamodb_backends.values():
        for backend in account.values():
            for table in backend.tables.values():
                table.items.clear()
                if table.stream_shard is not None:  # the outbox's stream: each test reads its own records
                    table.stream_shard.items.clear()
    product_queues = {get_settings().queue_name(name) for spec in queues.QUEUES
                      for name in (spec.logical, spec.dead_letter)}
    present = set()
    for account in sqs_backends.values():
        for backend in account.values():
            for name, queue in list(backend.queues.items()):
                if name not in product_queues:
                    backend.delete_queue(name)  # one a test made
                    continue
                present.add(name)
                with queue._messages_lock:
                    queue._messages, queue._pending_messages, queue.deleted_messages = [], set(), set()
    if present != product_queues:  # a test deleted one: all of them as provisioning makes them
        from local.provision import create_queues

        queues.queue_url.cache_clear()
        create_queues()


@pytest.fixture
def aws(_emulated_aws, twilio_emulator, stripe_emulator, clock):
    """A clean slate for each test: every table emptied, every queue purged, Twilio's and Stripe's accounts
    empty."""
    _empty_emulated_aws()
    twilio_emulator.reset()
    stripe_emulator.reset()
    yield


@pytest.fixture
def client(aws, clock):
    from chalice.test import Client

    from app import app

    environment = dict(os.environ)
    with Client(app) as test_client:
        yield test_client
    # The client sets its stage's environment around each request and Lambda invocation, then puts back what it
    # found: on many threads at once, one can put back another's (STAGE=dev), and settings read later would
    # name other tables.
    os.environ.clear()
    os.environ.update(environment)


@pytest.fixture
def outbox(client):
    """The outbox table's stream, handed to its handler when a test says (tests/outbox.py)."""
    from tests.outbox import OutboxStream

    return OutboxStream(client)

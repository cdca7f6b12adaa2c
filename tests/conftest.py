"""Shared fixtures: emulated AWS in-process (moto), the app through chalice.test.Client, a movable clock."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.local.atomic_moto import make_dynamodb_requests_atomic

# Tests never talk to real AWS, and never read credentials from the machine.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "STAGE": "test",
    "JWT_SECRET": "test-only-secret-0123456789abcdef0123456789abcdef",
})
for name in ("DYNAMODB_ENDPOINT", "SQS_ENDPOINT", "AWS_PROFILE"):
    os.environ.pop(name, None)

# Every emulated DynamoDB request atomic, as in AWS, for in-process moto and moto server alike.
make_dynamodb_requests_atomic()


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
    from chalicelib.local.twilio_emulator import TwilioEmulator

    with TwilioEmulator() as emulator:
        os.environ.update({"TWILIO_API_BASE_URL": emulator.url, "TWILIO_ACCOUNT_SID": emulator.account_sid,
                           "TWILIO_AUTH_TOKEN": emulator.auth_token})
        twilio._sleep = lambda seconds: None  # retries back off without waiting
        yield emulator


@pytest.fixture(scope="session")
def _emulated_aws(twilio_emulator):
    """Emulated DynamoDB and SQS (moto, in-process) with every table and queue of the product.
    Provisioned once: creating botocore clients and tables costs about a second."""
    from moto import mock_aws

    from chalicelib.config import reset_settings
    from chalicelib.gateways import queues
    from chalicelib.local.provision import provision
    from chalicelib.persistence import db

    with mock_aws():
        reset_settings()
        queues.reset()
        db._bound_to = None
        provision()
        yield
        queues.reset()


@pytest.fixture
def aws(_emulated_aws, twilio_emulator, clock):
    """A clean slate for each test: every table emptied, every queue purged, Twilio's account empty."""
    from chalicelib.gateways import queues
    from chalicelib.local.provision import create_queues
    from chalicelib.persistence.ledger import ensure_platform_accounts
    from chalicelib.persistence.models import ALL_MODELS

    for model in ALL_MODELS:
        with model.batch_write() as batch:
            for item in model.scan():
                batch.delete(item)
    sqs = queues._client()
    for url in sqs.list_queues().get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)  # PurgeQueue is limited to once a minute, like AWS
    queues.queue_url.cache_clear()
    create_queues()
    ensure_platform_accounts(clock())
    twilio_emulator.reset()
    yield


@pytest.fixture
def client(aws, clock):
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:
        yield test_client

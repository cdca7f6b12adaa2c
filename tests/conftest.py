"""Shared fixtures: emulated AWS in-process (moto), the app through chalice.test.Client, a movable clock."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

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


@pytest.fixture
def aws():
    """Fresh emulated DynamoDB and SQS with every table and queue of the product."""
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
def client(aws, clock):
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:
        yield test_client

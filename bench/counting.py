"""Shared by the call-count benchmarks: the real app on in-process moto and the Twilio emulator, with
DynamoDB calls counted where PynamoDB makes them."""
from __future__ import annotations

import os
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                   "STAGE": "bench", "JWT_SECRET": "bench-secret-0123456789abcdef0123456789abcdef"})

DYNAMODB: Counter = Counter()


def _count_dynamodb() -> None:
    from pynamodb.connection.base import Connection

    original = Connection._make_api_call

    def counted(self, operation_name, operation_kwargs, *args, **kwargs):
        DYNAMODB[operation_name] += 1
        return original(self, operation_name, operation_kwargs, *args, **kwargs)

    Connection._make_api_call = counted


@contextmanager
def product() -> Iterator[tuple]:
    """(chalice test client, tests.helpers.Api, Twilio emulator), on fresh emulated AWS; the stripe SDK talks to
    a Stripe emulator."""
    from moto import mock_aws

    from local.atomic_moto import make_dynamodb_requests_atomic
    from local.stripe_emulator import StripeEmulator
    from local.twilio_emulator import TwilioEmulator

    make_dynamodb_requests_atomic()  # as the tests do: the outbox's publisher writes feeds from many threads
    _count_dynamodb()
    with TwilioEmulator() as emulator, StripeEmulator() as stripe, mock_aws():
        os.environ.update({"TWILIO_API_BASE_URL": emulator.url, "TWILIO_ACCOUNT_SID": emulator.account_sid,
                           "TWILIO_AUTH_TOKEN": emulator.auth_token, "STRIPE_API_BASE": stripe.url,
                           "STRIPE_SECRET_KEY": stripe.secret_key, "STRIPE_WEBHOOK_SECRET": stripe.webhook_secret})
        from chalice.test import Client

        from app import app
        from local.provision import provision
        from tests.helpers import Api

        provision()
        with Client(app) as client:
            yield client, Api(client), emulator


@contextmanager
def counted(label: str, rows: list) -> Iterator[None]:
    DYNAMODB.clear()
    yield
    rows.append((label, sum(DYNAMODB.values()), dict(DYNAMODB)))

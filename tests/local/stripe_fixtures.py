"""The Stripe emulator's tests' fixtures: one emulator per module, and the real `stripe` SDK pointed at it,
on a fresh account for each test."""
from __future__ import annotations

import pytest
import stripe

from local.stripe_emulator import StripeEmulator


@pytest.fixture(scope="module")
def emulator():
    with StripeEmulator() as running:
        yield running


@pytest.fixture
def sdk(emulator):
    emulator.reset()
    return stripe.StripeClient(emulator.secret_key, base_addresses={"api": emulator.url}, max_network_retries=0)

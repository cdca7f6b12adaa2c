"""Fixtures of the seed scenarios: the app through chalice.test.Client on in-process moto (tests/conftest.py),
an `api` helper that speaks the product's wire (tests/helpers.py), and a clock at an hour when calls may go out."""
from datetime import datetime, timezone

import pytest

from tests.helpers import Api


class SeedApi(Api):
    """tests/helpers.py's Api, with one admin per test: every credit (api.fund) and the `admin` fixture use it,
    instead of making (and hashing the password of) an admin for each."""

    _admin: dict | None = None

    def admin(self) -> dict:
        if self._admin is None:
            self._admin = super().admin()
        return self._admin


@pytest.fixture
def api(client):
    return SeedApi(client)


@pytest.fixture
def admin(api):
    return api.admin()


@pytest.fixture(autouse=True)
def afternoon_in_new_york(clock):
    """13:00 in New York, 10:00 in San Francisco: inside the default TCPA window (08:00-21:00), as the seeds,
    which never think about the hour, assume."""
    clock.current = datetime(2026, 11, 2, 18, 0, tzinfo=timezone.utc)

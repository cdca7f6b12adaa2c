"""A fixture for tests that change a setting (rate limits, login throttle): `settings(NAME=value, ...)` sets the
environment and re-reads the settings; both are restored after the test. Import it where it is used."""
from __future__ import annotations

import pytest


@pytest.fixture
def settings(monkeypatch):
    from chalicelib.config import get_settings, reset_settings

    def override(**values) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        reset_settings()
        # Read now: chalice.test.Client puts its stage's environment (.chalice/config.json: another
        # RESOURCE_PREFIX) in os.environ during each request, and settings first read there would name its tables.
        get_settings()

    yield override
    monkeypatch.undo()
    reset_settings()
    get_settings()

from datetime import datetime, timezone

import pytest

from tests.helpers import Api


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def afternoon_in_new_york(clock):
    """18:00 UTC on a weekday: 13:00 in New York, 10:00 in San Francisco, inside TCPA calling hours."""
    clock.current = datetime(2026, 11, 2, 18, 0, tzinfo=timezone.utc)

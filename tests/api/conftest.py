import pytest

from tests.helpers import Api


@pytest.fixture
def api(client):
    return Api(client)

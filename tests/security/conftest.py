import pytest

from tests.helpers import Api


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def from_ip(monkeypatch):
    """Requests through chalice.test.Client come from this address (API Gateway's sourceIp) from now on."""
    from chalice.local import LambdaEventConverter

    def use(address: str) -> None:
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)

    return use

"""The Twilio gateway against the emulator: retries of transient failures only, errors by Twilio's codes."""
import pytest

from chalicelib.domain.errors import Conflict, NotFound, RateLimited, ValidationFailed
from chalicelib.gateways import twilio


@pytest.fixture
def gateway(aws, twilio_emulator):
    twilio.reset()
    twilio_emulator.reset_counts()
    yield twilio_emulator
    twilio.reset()


def test_buy_configure_find_release(gateway):
    [available] = twilio.search("US", "local", "415", None, 1)
    bought = twilio.buy(available["phone_number"], "Main", "https://example.com/v", "POST")
    assert bought["sid"].startswith("PN") and bought["voice_url"] == "https://example.com/v"
    assert twilio.find_owned(available["phone_number"])["sid"] == bought["sid"]
    assert twilio.configure(bought["sid"], friendly_name="Renamed")["friendly_name"] == "Renamed"
    twilio.release(bought["sid"])
    assert twilio.find_owned(available["phone_number"]) is None


@pytest.mark.parametrize("status, code", [(503, 20503), (500, 20500), (429, 20429)])
def test_transient_failures_are_retried(gateway, status, code):
    gateway.inject_faults(status, code, count=twilio.ATTEMPTS - 1)
    assert twilio.search("US", "local", "212", None, 2)
    assert gateway.request_count == twilio.ATTEMPTS


def test_retries_are_bounded(gateway):
    gateway.inject_faults(503, 20503, count=100)
    with pytest.raises(twilio.TwilioCallFailed) as failed:
        twilio.search("US", "local", "212", None, 2)
    assert gateway.request_count == twilio.ATTEMPTS
    assert failed.value.failure.transient
    assert failed.value.product_error().status == 503


@pytest.mark.parametrize("phone_number, error, message", [
    ("+15005550000", Conflict, "Phone number is not available"),
    ("+15005550001", ValidationFailed, "Invalid phone number"),
])
def test_permanent_failures_are_not_retried_and_keep_twilios_meaning(gateway, phone_number, error, message):
    with pytest.raises(twilio.TwilioCallFailed) as failed:
        twilio.buy(phone_number, "x", None, "POST")
    assert gateway.request_count == 1
    mapped = failed.value.product_error()
    assert isinstance(mapped, error) and mapped.message == message


def test_unknown_number_is_not_found(gateway):
    with pytest.raises(twilio.TwilioCallFailed) as failed:
        twilio.configure("PN" + "0" * 32, friendly_name="x")
    assert isinstance(failed.value.product_error(), NotFound)
    assert failed.value.product_error().message == "Phone number not found"


@pytest.mark.parametrize("code, status, expected, message", [
    (21452, 400, Conflict, "This area code doesn't have any available phone numbers"),
    (20003, 401, twilio.ProviderError, "Permission denied by the telephony provider"),
    (20005, 401, twilio.ProviderError, "Insufficient account balance"),
    (10001, 400, twilio.ProviderError, "Insufficient account balance"),
    (20429, 429, RateLimited, None),
    (21999, 400, twilio.ProviderError, "Twilio error 21999: nope"),
])
def test_error_mapping_by_twilio_code(code, status, expected, message):
    mapped = twilio.to_product_error(twilio.TwilioFailure(code, status, "nope"))
    assert isinstance(mapped, expected)
    if message:
        assert mapped.message == message


def test_a_buy_is_never_repeated_by_the_gateway(gateway):
    """A 5xx on buying may mean Twilio bought it: the caller must check, not the gateway repeat it."""
    [available] = twilio.search("US", "local", "415", None, 1)
    gateway.reset_counts()
    gateway.inject_faults(503, 20503, count=1, method="POST")
    with pytest.raises(twilio.TwilioCallFailed) as failed:
        twilio.buy(available["phone_number"], "x", None, "POST")
    assert failed.value.failure.transient
    assert gateway.request_count == 1


def test_retries_stop_within_the_deadline_when_twilio_times_out(monkeypatch):
    """Each attempt times out at the request timeout (10 s): retrying the third time would end past the
    deadline, so the call gives up after two attempts, well inside the API Lambda's 28 s."""
    import requests

    from chalicelib.config import get_settings

    now = {"t": 1000.0}
    monkeypatch.setattr(twilio, "_monotonic", lambda: now["t"])
    monkeypatch.setattr(twilio, "_sleep", lambda seconds: now.__setitem__("t", now["t"] + seconds))
    timeout = get_settings().twilio_timeout_seconds
    attempts = []

    def times_out():
        attempts.append(now["t"])
        now["t"] += timeout
        raise requests.Timeout("read timed out")

    with pytest.raises(twilio.TwilioCallFailed):
        twilio.call(times_out)
    assert len(attempts) == 2 < twilio.ATTEMPTS
    assert now["t"] - 1000.0 <= twilio.DEADLINE_SECONDS < 28


def test_fast_failures_still_get_every_attempt(monkeypatch):
    import requests

    monkeypatch.setattr(twilio, "_monotonic", lambda: 0.0)
    monkeypatch.setattr(twilio, "_sleep", lambda seconds: None)
    attempts = []

    def refused():
        attempts.append(1)
        raise requests.ConnectionError("refused")

    with pytest.raises(twilio.TwilioCallFailed):
        twilio.call(refused)
    assert len(attempts) == twilio.ATTEMPTS

"""Seed 000 §3.2, "TwilioService" (tests/unit/services/twilio.service.test.ts): unit tests of the seed's Twilio
wrapper with a mocked SDK. Here the real `twilio` SDK talks to the local Twilio emulator, so each case is run
through the API that uses it: search, purchase (provisioned by the SQS worker), configure and release. Where
the seed mocks an error, the emulator answers it (magic numbers, injected faults)."""
import pytest

from local.twilio_emulator.resources import (
    AVAILABLE_PHONE_NUMBERS, INCOMING_PHONE_NUMBER, INCOMING_PHONE_NUMBERS, MAGIC_UNAVAILABLE,
)
from chalicelib.persistence.tables import NumberModel
from tests.api.test_numbers import run_provisioning
from tests.seeds.helpers import available_numbers, funded, own_numbers

SEARCH = "country_code=US&area_code=415&limit=20"


@pytest.fixture
def buyer(api):
    return funded(api, "buyer")


def purchase(api, client, buyer, phone_number: str, **item) -> dict:
    """POST /numbers/purchase of one number, provisioned; the order as GET /orders/{id} shows it."""
    placed = api.post("/numbers/purchase", {"numbers": [{"phone_number": phone_number, "friendly_name": "Test Number",
                                                         **item}]}, token=buyer["token"])
    assert placed.status == 201, placed.body
    run_provisioning(client)
    return api.get(f"/orders/{placed.data['order_id']}", token=buyer["token"]).data


# --- searchNumbers -----------------------------------------------------------------------------------------

def test_twilio_service_search_numbers_should_successfully_search_for_available_numbers(api, buyer, twilio_emulator):
    """TwilioService › searchNumbers › should successfully search for available numbers"""
    twilio_emulator.reset_counts()
    result = api.get(f"/numbers/search?{SEARCH}", token=buyer["token"])
    assert result.status == 200 and result.body["success"] is True
    assert len(result.data) == 20
    first = result.data[0]
    assert all(n["phone_number"].startswith("+1415") and n["region"] == "CA" for n in result.data)
    assert "San Francisco" in {n["locality"] for n in result.data} and first["iso_country"] == "US"
    assert first["capabilities"]["voice"] is True and first["capabilities"]["sms"] is True
    assert twilio_emulator.request_counts[("GET", AVAILABLE_PHONE_NUMBERS)] == 1  # one Twilio search


def test_twilio_service_search_numbers_should_return_cached_results_when_available(api, buyer, twilio_emulator):
    """TwilioService › searchNumbers › should return cached results when available"""
    first = api.get(f"/numbers/search?{SEARCH}", token=buyer["token"]).data
    twilio_emulator.reset_counts()
    again = api.get(f"/numbers/search?{SEARCH}", token=buyer["token"])
    assert again.status == 200 and again.data == first
    assert twilio_emulator.request_count == 0  # Twilio not asked


def test_twilio_service_search_numbers_should_handle_twilio_api_errors(api, buyer, twilio_emulator):
    """TwilioService › searchNumbers › should handle Twilio API errors (Twilio's 20003, permission denied).
    The seed's service throws 'Number search failed'; over HTTP that is a 502 in the error envelope, and
    nothing is cached."""
    twilio_emulator.inject_faults(401, 20003, kind=AVAILABLE_PHONE_NUMBERS, message="Authenticate")
    failed = api.get(f"/numbers/search?{SEARCH}", token=buyer["token"])
    assert failed.status == 502 and failed.body["success"] is False
    assert failed.error["type"] == "INTERNAL_ERROR" and failed.error["code"] == "PROVIDER_PERMISSION_DENIED"
    assert "20003" not in str(failed.body) and "Authenticate" not in str(failed.body)  # no internals
    twilio_emulator.reset_counts()
    assert api.get(f"/numbers/search?{SEARCH}", token=buyer["token"]).status == 200
    assert twilio_emulator.request_count == 1  # the failure was not cached


def test_twilio_service_search_numbers_should_cache_successful_results(api, buyer, twilio_emulator, clock):
    """TwilioService › searchNumbers › should cache successful results (for 300 s, as the seed's setex)"""
    api.get(f"/numbers/search?{SEARCH}", token=buyer["token"])
    twilio_emulator.reset_counts()
    clock.advance(seconds=299)
    api.get(f"/numbers/search?{SEARCH}", token=buyer["token"])
    assert twilio_emulator.request_count == 0
    clock.advance(seconds=2)
    api.get(f"/numbers/search?{SEARCH}", token=buyer["token"])
    assert twilio_emulator.request_count == 1


# --- purchaseNumber ----------------------------------------------------------------------------------------

def test_twilio_service_purchase_number_should_successfully_purchase_a_number(api, client, buyer, twilio_emulator):
    """TwilioService › purchaseNumber › should successfully purchase a number"""
    wanted = available_numbers(api, buyer)[0]
    order = purchase(api, client, buyer, wanted, configuration={"voice_url": "https://example.com/voice",
                                                                "voice_method": "POST"})
    assert order["results"][0]["status"] == "SUCCESS" and order["results"][0]["phone_number"] == wanted
    [owned] = twilio_emulator.owned_numbers()  # bought at Twilio with the seed's settings
    assert owned["phone_number"] == wanted and owned["friendly_name"] == "Test Number"
    assert owned["voice_url"] == "https://example.com/voice" and owned["voice_method"] == "POST"
    assert NumberModel.get(order["results"][0]["number_id"]).twilio_sid == owned["sid"]


def test_twilio_service_purchase_number_should_handle_number_not_available_error(api, client, buyer):
    """TwilioService › purchaseNumber › should handle number not available error (Twilio's 21422)"""
    order = purchase(api, client, buyer, MAGIC_UNAVAILABLE)
    assert order["status"] == "FAILED"
    assert order["results"][0]["status"] == "FAILED"
    assert order["results"][0]["error"] == "Phone number is not available"
    assert order["items"][0]["error_code"] == 21422


@pytest.mark.parametrize("code, message, error", [
    (21450, "Insufficient balance", "Twilio error 21450: Unable to create record: Insufficient balance"),  # seed's
    (20005, "Account not active", "Insufficient account balance"),  # what Twilio answers an account out of funds
])
def test_twilio_service_purchase_number_should_handle_insufficient_balance_error(api, client, buyer, twilio_emulator,
                                                                               code, message, error):
    """TwilioService › purchaseNumber › should handle insufficient balance error (the platform's Twilio
    account, not the buyer's: the buyer's hold is released)"""
    wanted = available_numbers(api, buyer)[0]
    twilio_emulator.inject_faults(400, code, method="POST", kind=INCOMING_PHONE_NUMBERS, message=message)
    order = purchase(api, client, buyer, wanted)
    assert order["status"] == "FAILED" and order["results"][0]["status"] == "FAILED"
    assert order["results"][0]["error"] == error and order["items"][0]["error_code"] == code
    assert twilio_emulator.owned_numbers() == []
    assert api.get("/account/balance", token=buyer["token"]).data["balance"] == "100.00"


# --- configureNumber ---------------------------------------------------------------------------------------

def test_twilio_service_configure_number_should_successfully_configure_a_number(api, client, buyer, twilio_emulator):
    """TwilioService › configureNumber › should successfully configure a number (status_callback is ours to
    set: Twilio's status callbacks come to our webhooks)"""
    [number] = own_numbers(api, client, buyer)
    result = api.put(f"/numbers/{number['id']}", {"voice_url": "https://example.com/new-voice",
                                                   "voice_method": "POST"}, token=buyer["token"])
    assert result.status == 200 and result.body["success"] is True
    assert result.data["voice_url"] == "https://example.com/new-voice"
    [owned] = twilio_emulator.owned_numbers()
    assert owned["voice_url"] == "https://example.com/new-voice" and owned["voice_method"] == "POST"


def test_twilio_service_configure_number_should_handle_number_not_found_error(api, client, buyer, twilio_emulator):
    """TwilioService › configureNumber › should handle number not found error (Twilio's 20404)"""
    [number] = own_numbers(api, client, buyer)
    twilio_emulator.inject_faults(404, 20404, method="POST", kind=INCOMING_PHONE_NUMBER)
    result = api.put(f"/numbers/{number['id']}", {"voice_url": "https://example.com/new-voice"},
                     token=buyer["token"])
    assert result.status == 404 and result.error["message"] == "Phone number not found"
    assert api.get(f"/numbers/{number['id']}", token=buyer["token"]).data["voice_url"] != (
        "https://example.com/new-voice")  # nothing stored that Twilio does not do


# --- releaseNumber -----------------------------------------------------------------------------------------

def test_twilio_service_release_number_should_successfully_release_a_number(api, client, buyer, twilio_emulator):
    """TwilioService › releaseNumber › should successfully release a number"""
    [number] = own_numbers(api, client, buyer)
    result = api.call("DELETE", f"/numbers/{number['id']}", token=buyer["token"])
    assert result.status == 204
    assert twilio_emulator.owned_numbers() == []
    assert twilio_emulator.request_counts[("DELETE", INCOMING_PHONE_NUMBER)] == 1


def test_twilio_service_release_number_should_handle_number_not_found_error(api, client, buyer, twilio_emulator):
    """TwilioService › releaseNumber › should handle number not found error (Twilio's 20404).
    The seed throws 'Phone number not found'. Here a number Twilio no longer has is released all the same
    (204): the release is what the user asked for, and it must not stay ACTIVE and billed."""
    [number] = own_numbers(api, client, buyer)
    twilio_emulator.inject_faults(404, 20404, method="DELETE", kind=INCOMING_PHONE_NUMBER)
    result = api.call("DELETE", f"/numbers/{number['id']}", token=buyer["token"])
    assert result.status == 204
    assert api.get(f"/numbers/{number['id']}", token=buyer["token"]).data["status"] == "RELEASED"

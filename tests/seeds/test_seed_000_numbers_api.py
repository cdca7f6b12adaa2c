"""Seed 000 §4.2, "Numbers API Integration Tests" (tests/integration/api/numbers.test.ts): search, purchase,
list and read numbers over HTTP. The seed mocks its Twilio service; here the real SDK talks to the local Twilio
emulator, and the seed's createTestNumber is a purchase through the API that the provisioning worker completes.

A purchase here is asynchronous: 201 with every result PENDING, then SUCCESS or FAILED on the order once the
SQS worker has bought the numbers. Lists answer `data: [...]` with `pagination` beside it (not
`data.numbers`)."""
import pytest

from local.twilio_emulator.resources import MAGIC_UNAVAILABLE
from chalicelib.persistence.tables import NumberModel, OrderModel
from tests.api.test_numbers import run_provisioning
from tests.seeds.helpers import available_numbers, funded, own_numbers


@pytest.fixture
def test_user(api):
    return funded(api, "buyer")


def expect_auth_error(result, status: int = 401) -> None:
    assert result.status == status and result.body["success"] is False
    assert result.error["type"] in ("AUTHENTICATION_ERROR", "AUTHORIZATION_ERROR")


# --- GET /api/v1/numbers/search ----------------------------------------------------------------------------

def test_numbers_api_search_should_search_for_available_numbers(api, test_user):
    """Numbers API › GET /api/v1/numbers/search › should search for available numbers"""
    result = api.get("/numbers/search?country_code=US&area_code=415&limit=20", token=test_user["token"])
    assert result.status == 200 and result.body["success"] is True
    assert isinstance(result.data, list) and result.data
    first = result.data[0]
    assert all(n["phone_number"].startswith("+1415") and n["region"] == "CA" for n in result.data)
    assert first["locality"] and first["capabilities"] == {"voice": True, "sms": True, "mms": True}
    assert first["monthly_price"] == "1.50"  # the seed's pricing.monthlyPrice: our price, USD
    # The seed's shape too, snake_cased: countryCode and pricing {monthlyPrice, currency} (with the setup price)
    assert first["country_code"] == "US"
    assert first["pricing"] == {"monthly_price": "1.50", "setup_price": first["setup_price"], "currency": "USD"}


def test_numbers_api_search_should_require_authentication(api):
    """Numbers API › GET /api/v1/numbers/search › should require authentication"""
    expect_auth_error(api.get("/numbers/search?country_code=US"))


def test_numbers_api_search_should_validate_search_parameters(api, test_user):
    """Numbers API › GET /api/v1/numbers/search › should validate search parameters"""
    result = api.get("/numbers/search?country_code=INVALID", token=test_user["token"])
    assert result.status == 400 and result.error["type"] == "VALIDATION_ERROR"
    assert [d["field"] for d in result.error["details"]] == ["country_code"]


def test_numbers_api_search_should_filter_out_already_owned_numbers(api, client, test_user):
    """Numbers API › GET /api/v1/numbers/search › should filter out already owned numbers"""
    offered = available_numbers(api, test_user, "country_code=US&area_code=415&limit=2")
    own_numbers(api, client, test_user, phone_numbers=offered[:1])
    result = api.get("/numbers/search?country_code=US&area_code=415&limit=2", token=test_user["token"])
    assert [n["phone_number"] for n in result.data] == offered[1:]


# --- POST /api/v1/numbers/purchase -------------------------------------------------------------------------

def purchase_request(phone_number: str) -> dict:
    return {"numbers": [{"phone_number": phone_number, "friendly_name": "Test Number",
                         "configuration": {"voice_url": "https://example.com/voice", "voice_method": "POST"}}]}


def test_numbers_api_purchase_should_purchase_numbers_successfully(api, client, test_user):
    """Numbers API › POST /api/v1/numbers/purchase › should purchase numbers successfully.
    Asynchronous here: 201 with the result PENDING, then SUCCESS on the order."""
    wanted = available_numbers(api, test_user)[0]
    response = api.post("/numbers/purchase", purchase_request(wanted), token=test_user["token"])
    assert response.status == 201 and response.body["success"] is True
    assert response.data["results"][0]["status"] == "PENDING"
    assert response.data["results"][0]["phone_number"] == wanted
    run_provisioning(client)
    order = api.get(f"/orders/{response.data['order_id']}", token=test_user["token"]).data
    assert order["results"][0]["status"] == "SUCCESS" and order["results"][0]["phone_number"] == wanted
    saved = NumberModel.get(order["results"][0]["number_id"])  # saved to the database
    assert saved.owner_id == test_user["user"]["id"] and saved.twilio_sid.startswith("PN")


def test_numbers_api_purchase_should_create_order_for_purchase(api, client, test_user):
    """Numbers API › POST /api/v1/numbers/purchase › should create order for purchase"""
    response = api.post("/numbers/purchase", purchase_request(available_numbers(api, test_user)[0]),
                        token=test_user["token"])
    assert response.status == 201
    assert response.data["id"] == response.data["order_id"]  # the seed reads orderId; every resource has id
    order = OrderModel.get(response.data["order_id"])
    assert order.owner_id == test_user["user"]["id"]
    run_provisioning(client)
    shown = api.get(f"/orders/{response.data['order_id']}", token=test_user["token"]).data
    assert shown["status"] == "COMPLETED" and len(shown["numbers"]) == 1
    assert shown["id"] == shown["order_id"] == order.order_id
    listed = api.get("/orders", token=test_user["token"]).data
    assert [(o["id"], o["order_id"]) for o in listed] == [(order.order_id, order.order_id)]


def test_numbers_api_purchase_should_handle_twilio_purchase_failure(api, client, test_user):
    """Numbers API › POST /api/v1/numbers/purchase › should handle Twilio purchase failure.
    Still 201, with the result FAILED (on the order, once the worker has asked Twilio)."""
    response = api.post("/numbers/purchase", purchase_request(MAGIC_UNAVAILABLE), token=test_user["token"])
    assert response.status == 201 and response.data["results"][0]["status"] == "PENDING"
    run_provisioning(client)
    result = api.get(f"/orders/{response.data['order_id']}", token=test_user["token"]).data["results"][0]
    assert result["status"] == "FAILED" and "not available" in result["error"]


def test_numbers_api_purchase_should_validate_purchase_limits(api, test_user):
    """Numbers API › POST /api/v1/numbers/purchase › should validate purchase limits"""
    too_many = {"numbers": [{"phone_number": f"+141555{i:04d}", "friendly_name": f"Number {i}"} for i in range(11)]}
    result = api.post("/numbers/purchase", too_many, token=test_user["token"])
    assert result.status == 400 and result.error["type"] == "VALIDATION_ERROR"
    assert "numbers" in {d["field"] for d in result.error["details"]}
    assert OrderModel.count() == 0


def test_numbers_api_purchase_should_require_authentication(api):
    """Numbers API › POST /api/v1/numbers/purchase › should require authentication"""
    expect_auth_error(api.post("/numbers/purchase", purchase_request("+14155551234")))


# --- GET /api/v1/numbers -----------------------------------------------------------------------------------

@pytest.fixture
def user_number(api, client, test_user):
    """The seed's beforeEach: one number of the user's, and one of another user's."""
    [number] = own_numbers(api, client, test_user)
    other = funded(api, "buyer", email="other@example.com")
    own_numbers(api, client, other)
    return number


def test_numbers_api_list_should_return_users_numbers_only(api, test_user, user_number):
    """Numbers API › GET /api/v1/numbers › should return user's numbers only"""
    result = api.get("/numbers", token=test_user["token"])
    assert result.status == 200 and result.body["success"] is True
    assert [(n["id"], n["phone_number"]) for n in result.data] == [(user_number["id"], user_number["phone_number"])]


def test_numbers_api_list_should_support_pagination(api, client, test_user, user_number):
    """Numbers API › GET /api/v1/numbers › should support pagination"""
    own_numbers(api, client, test_user, count=3)
    result = api.get("/numbers?page=1&limit=2", token=test_user["token"])
    assert len(result.data) == 2
    assert result.body["pagination"]["total"] == 4 and result.body["pagination"]["total_pages"] == 2


def test_numbers_api_list_should_support_filtering_by_status(api, client, test_user, user_number):
    """Numbers API › GET /api/v1/numbers › should support filtering by status.
    The seed adds a SUSPENDED number; a number here is ACTIVE or RELEASED, so the other one is released."""
    [released] = own_numbers(api, client, test_user)
    assert api.call("DELETE", f"/numbers/{released['id']}", token=test_user["token"]).status == 204
    result = api.get("/numbers?status=ACTIVE", token=test_user["token"])
    assert [n["id"] for n in result.data] == [user_number["id"]] and result.data[0]["status"] == "ACTIVE"


def test_numbers_api_list_should_support_search(api, test_user, user_number):
    """Numbers API › GET /api/v1/numbers › should support search"""
    result = api.get(f"/numbers?search={user_number['phone_number'][-4:]}", token=test_user["token"])
    assert [n["phone_number"] for n in result.data] == [user_number["phone_number"]]


def test_numbers_api_list_should_require_authentication(api):
    """Numbers API › GET /api/v1/numbers › should require authentication"""
    expect_auth_error(api.get("/numbers"))


# --- GET /api/v1/numbers/:id -------------------------------------------------------------------------------

def test_numbers_api_get_should_return_number_details_for_owner(api, client, test_user):
    """Numbers API › GET /api/v1/numbers/:id › should return number details for owner"""
    [number] = own_numbers(api, client, test_user)
    result = api.get(f"/numbers/{number['id']}", token=test_user["token"])
    assert result.status == 200 and result.body["success"] is True
    assert result.data["id"] == number["id"] and result.data["phone_number"] == number["phone_number"]


def test_numbers_api_get_should_deny_access_to_other_users_numbers(api, client, test_user):
    """Numbers API › GET /api/v1/numbers/:id › should deny access to other user's numbers"""
    [number] = own_numbers(api, client, test_user)
    other = api.register("buyer", email="other@example.com")
    result = api.get(f"/numbers/{number['id']}", token=other["token"])
    assert result.status == 404 and result.body["success"] is False


def test_numbers_api_get_should_allow_admin_access_to_any_number(api, client, test_user, admin):
    """Numbers API › GET /api/v1/numbers/:id › should allow admin access to any number"""
    [number] = own_numbers(api, client, test_user)
    result = api.get(f"/numbers/{number['id']}", token=admin["token"])
    assert result.status == 200 and result.data["id"] == number["id"]

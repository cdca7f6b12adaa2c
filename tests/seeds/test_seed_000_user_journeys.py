"""Seed 000 §5.1, "Complete User Journey E2E Tests" (tests/e2e/user-journey.test.ts): the new user's whole
journey, the error recovery of a failed purchase, and the admin's management of a user, over HTTP.

What differs here, and is asserted: a purchase is paid from the balance, so a new account is funded first
(402 before); a purchase is asynchronous (201 PENDING, then SUCCESS or FAILED on the order); a transient Twilio
failure is retried by SQS on the same order instead of failing the item; single resources are `data` itself
and lists are `data: [...]` with `pagination` beside it."""
import json

import pytest

from chalicelib.gateways import twilio
from tests.api.test_numbers import run_provisioning, sqs_event
from tests.seeds.helpers import funded

JOURNEY = {"email": "journey@example.com", "password": "Test123!", "first_name": "Journey", "last_name": "User",
           "company": "Test Company", "accept_terms": True}


def new_user(api, **registration) -> dict:
    result = api.post("/auth/register", {**JOURNEY, **registration})
    assert result.status == 201, result.body
    return {**result.data, "token": result.data["tokens"]["access_token"]}


def test_new_user_complete_flow_should_complete_full_user_registration_to_number_purchase_flow(api, client):
    """Complete User Journey › New User Complete Flow › should complete full user registration to number
    purchase flow"""
    # Step 1: registration
    user = new_user(api)
    user_id = user["user"]["id"]
    # Step 2: search (the seed's mocked Twilio offered one number)
    search = api.get("/numbers/search?country_code=US&area_code=415&limit=1", token=user["token"])
    assert search.status == 200 and len(search.data) == 1
    available = search.data[0]
    # Step 3: purchase. A new account has no funds: 402, until an admin credits it.
    body = {"numbers": [{"phone_number": available["phone_number"], "friendly_name": "My First Number"}]}
    unfunded = api.post("/numbers/purchase", body, token=user["token"])
    assert unfunded.status == 402 and unfunded.error["type"] == "PAYMENT_REQUIRED"
    api.fund(user)
    purchase = api.post("/numbers/purchase", body, token=user["token"])
    assert purchase.status == 201 and purchase.data["results"][0]["status"] == "PENDING"
    run_provisioning(client)
    order_id = purchase.data["order_id"]
    # Step 4: the order
    order = api.get(f"/orders/{order_id}", token=user["token"])
    assert order.status == 200 and order.data["status"] == "COMPLETED" and len(order.data["numbers"]) == 1
    assert order.data["results"][0]["status"] == "SUCCESS"
    # Step 5: the user's numbers
    numbers = api.get("/numbers", token=user["token"])
    assert numbers.status == 200 and [n["phone_number"] for n in numbers.data] == [available["phone_number"]]
    # Step 6: configure the number
    configured = api.put(f"/numbers/{numbers.data[0]['id']}", {"voice_url": "https://myapp.com/voice",
                                                                "voice_method": "POST",
                                                                "friendly_name": "My Configured Number"},
                         token=user["token"])
    assert configured.status == 200 and configured.body["success"] is True
    # Step 7: the billing account (the seed reads data.userId)
    billing = api.get("/billing/account", token=user["token"])
    assert billing.status == 200 and billing.data["user_id"] == billing.data["account_id"] == user_id
    # Step 8: usage statistics
    dashboard = api.get("/analytics/dashboard", token=user["token"])
    assert dashboard.status == 200 and dashboard.data["summary"]["total_numbers"] == 1


def test_new_user_complete_flow_should_handle_complete_error_recovery_flow(api, client, twilio_emulator):
    """Complete User Journey › New User Complete Flow › should handle complete error recovery flow.
    The seed's first purchase fails ('Service temporarily unavailable') and a second purchase succeeds.
    Here the order stays PENDING while Twilio is unavailable, and SQS's redelivery of the same message buys the
    number: the user does not buy again."""
    user = funded(api, "buyer")
    wanted = api.get("/numbers/search?country_code=US&area_code=415&limit=1", token=user["token"]).data[0]
    body = {"numbers": [{"phone_number": wanted["phone_number"], "friendly_name": "Test Number"}]}
    purchase = api.post("/numbers/purchase", body, token=user["token"])
    assert purchase.status == 201 and purchase.data["results"][0]["status"] == "PENDING"
    order_id = purchase.data["order_id"]

    twilio_emulator.inject_faults(503, 20503, count=twilio.ATTEMPTS, message="Service temporarily unavailable")
    with pytest.raises(Exception):
        run_provisioning(client)  # the worker fails the delivery: SQS will deliver it again
    first = api.get(f"/orders/{order_id}", token=user["token"]).data
    assert first["status"] == "PENDING" and first["results"][0]["status"] == "PENDING"
    assert twilio_emulator.owned_numbers() == []

    redelivery = {"MessageId": "redelivery", "ReceiptHandle": "r", "Body": json.dumps({"order_id": order_id})}
    client.lambda_.invoke("provision_numbers", sqs_event(redelivery))
    retried = api.get(f"/orders/{order_id}", token=user["token"]).data
    assert retried["status"] == "COMPLETED" and retried["results"][0]["status"] == "SUCCESS"
    assert [n["phone_number"] for n in twilio_emulator.owned_numbers()] == [wanted["phone_number"]]


def test_admin_management_flow_should_complete_admin_user_management_flow(api, admin):
    """Complete User Journey › Admin Management Flow › should complete admin user management flow.
    Admins are not registered (account_type admin is refused at registration); `make run` and this test make
    one the way operators do."""
    regular = new_user(api, email="managed@example.com")
    user_id = regular["user"]["id"]

    users = api.get("/admin/users", token=admin["token"])
    assert users.status == 200 and len(users.data) > 0 and users.body["pagination"]["total"] > 0
    details = api.get(f"/admin/users/{user_id}", token=admin["token"])
    assert details.status == 200 and details.data["id"] == user_id

    suspended = api.put(f"/admin/users/{user_id}/suspend",
                        {"reason": "Policy violation", "duration": 7, "notify_user": True}, token=admin["token"])
    assert suspended.status == 200 and suspended.body["success"] is True
    login = api.post("/auth/login", {"email": "managed@example.com", "password": "Test123!"})
    assert login.status == 403 and login.body["success"] is False
    assert login.error["type"] in ("AUTHENTICATION_ERROR", "AUTHORIZATION_ERROR")

    reactivated = api.put(f"/admin/users/{user_id}/reactivate", token=admin["token"])
    assert reactivated.status == 200 and reactivated.body["success"] is True
    again = api.post("/auth/login", {"email": "managed@example.com", "password": "Test123!"})
    assert again.status == 200 and again.body["success"] is True

"""Search → purchase → order completes (provisioned over SQS by the dispatcher) → listed → configure →
release, over HTTP against the running product and its Twilio emulator."""
import uuid
import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.test_identity_flow import register, wait_for

pytestmark = pytest.mark.e2e


def test_number_lifecycle(product):
    buyer = register(product, "buyer")
    token = buyer["tokens"]["access_token"]
    admin = product.login(ADMIN_EMAIL, ADMIN_PASSWORD)["tokens"]["access_token"]
    product.call("POST", f"/admin/users/{buyer['user']['id']}/credits", token=admin,
                 json={"amount": "50.00", "reason": "e2e funds"}, headers={"Idempotency-Key": str(uuid.uuid4())})

    found = product.call("GET", "/numbers/search?area_code=212&limit=3", token=token).json()["data"]
    assert len(found) == 3
    wanted = [n["phone_number"] for n in found[:2]]
    placed = product.call("POST", "/numbers/purchase", token=token, json={"numbers": [
        {"phone_number": wanted[0], "friendly_name": "Main line"},
        {"phone_number": wanted[1], "friendly_name": "Second line",
         "configuration": {"routing": "custom", "voice_url": "https://example.com/voice"}},
    ]})
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["data"]["order_id"]

    order = wait_for(lambda: (lambda o: o if o["status"] != "PENDING" else None)(
        product.call("GET", f"/orders/{order_id}", token=token).json()["data"]))
    assert order["status"] == "COMPLETED"
    listed = product.call("GET", "/numbers", token=token).json()
    assert listed["pagination"]["total"] == 2
    number = next(n for n in listed["data"] if n["phone_number"] == wanted[0])

    configured = product.call("PUT", f"/numbers/{number['id']}", token=token,
                              json={"routing": "exchange", "call_type": "auto_insurance"})
    assert configured.status_code == 200
    assert configured.json()["data"]["voice_url"].endswith("/api/v1/webhooks/twilio/voice")

    assert product.call("DELETE", f"/numbers/{number['id']}", token=token).status_code == 204
    assert product.call("GET", f"/numbers/{number['id']}", token=token).json()["data"]["status"] == "RELEASED"
    balance = product.call("GET", "/account/balance", token=token).json()["data"]
    assert balance["balance"] == "45.00"  # two local numbers at $1.00 setup + $1.50 first month
    summary = product.call("GET", "/analytics/dashboard", token=token).json()["data"]["summary"]
    assert summary == {"total_numbers": 2, "active_numbers": 1, "orders": 1, "total_calls": 0, "completed_calls": 0,
                       "spend": "5.00", "earnings": "0.00"}

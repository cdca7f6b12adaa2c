"""Funding by card under `make run`: the product's stripe SDK talks to the Stripe emulator it started, and the
emulator's signed webhooks come back to the product over HTTP (issue 20 §1, §2, §4)."""
import uuid

import pytest
import requests

from tests.e2e.test_identity_flow import PASSWORD, register, wait_for

pytestmark = pytest.mark.e2e


def test_a_seller_funds_itself_by_card_and_a_refund_takes_it_back(product):
    stripe_url = product.runtime.printed("Stripe emulator")
    seller = register(product, "seller")
    token = product.login(seller["email"], PASSWORD)["tokens"]["access_token"]
    card = product.call("POST", "/billing/payment-methods", token, json={"payment_method": "pm_card_visa"})
    assert card.status_code == 201, card.text
    top_up = product.call("POST", "/billing/top-ups", token, headers={"Idempotency-Key": str(uuid.uuid4())},
                          json={"amount": "100.00", "payment_method_id": card.json()["data"]["payment_method_id"]})
    assert top_up.status_code == 201 and top_up.json()["data"]["status"] == "succeeded", top_up.text

    def balance() -> str:
        return product.call("GET", "/account/balance", token).json()["data"]["balance"]

    assert balance() == "100.00"
    intent = top_up.json()["data"]["payment_intent_id"]
    # The webhook of the payment arrives too (signed, over HTTP): it credits nothing more.
    assert requests.post(f"{stripe_url}/simulator/refund", json={"payment_intent": intent}, timeout=30).ok
    wait_for(lambda: balance() == "0.00")
    admin = product.login("admin@example.com", "E2e!Admin-Passw0rd")["tokens"]["access_token"]
    books = product.call("GET", "/admin/ledger", admin).json()["data"]
    assert books["balanced"] is True


def test_a_forged_stripe_webhook_is_refused(product):
    response = product.call("POST", "/webhooks/stripe", headers={"Stripe-Signature": "t=1,v1=00"},
                            json={"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {}}})
    assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_SIGNATURE"

"""The Stripe emulator (local/stripe_emulator) through the real `stripe` SDK, as the product uses it: Stripe's
object shapes and errors, idempotency keys, the test cards, refunds and disputes, and signed webhooks."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import stripe

from tests.local.stripe_fixtures import emulator, sdk  # noqa: F401 - fixtures
from local.stripe_emulator.server import decode_form, fee_of


def customer_with(sdk, test_card: str):
    customer = sdk.v1.customers.create(params={"email": "ada@example.com"})
    method = sdk.v1.payment_methods.attach(test_card, params={"customer": customer.id})
    return customer, method


def test_a_wrong_secret_key_is_refused(emulator):
    wrong = stripe.StripeClient("sk_test_wrong", base_addresses={"api": emulator.url}, max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError):
        wrong.v1.customers.create()


def test_forms_are_decoded_as_the_sdk_encodes_them():
    assert decode_form("metadata[user_id]=u1&expand[0]=a.b&expand[1]=c&confirm=true") == {
        "metadata": {"user_id": "u1"}, "expand": ["a.b", "c"], "confirm": "true"}


def test_attach_list_and_detach_a_test_card(sdk):
    customer, method = customer_with(sdk, "pm_card_visa")
    assert method.id.startswith("pm_") and method.id != "pm_card_visa"  # each use of a test id is a new card
    assert (method.card.brand, method.card.last4, method.customer) == ("visa", "4242", customer.id)
    listed = sdk.v1.payment_methods.list(params={"customer": customer.id, "type": "card"})
    assert [m.id for m in listed.data] == [method.id]
    sdk.v1.payment_methods.detach(method.id)
    assert sdk.v1.payment_methods.list(params={"customer": customer.id, "type": "card"}).data == []


def test_a_declining_card_is_refused_when_attached(sdk):
    customer = sdk.v1.customers.create()
    with pytest.raises(stripe.CardError) as raised:
        sdk.v1.payment_methods.attach("pm_card_chargeDeclined", params={"customer": customer.id})
    assert raised.value.http_status == 402 and raised.value.error.decline_code == "generic_decline"


def test_a_payment_succeeds_with_a_charge_its_fee_and_an_event(sdk, emulator):
    customer, method = customer_with(sdk, "pm_card_mastercard")
    intent = sdk.v1.payment_intents.create(params={
        "amount": 10000, "currency": "usd", "customer": customer.id, "payment_method": method.id, "confirm": True,
        "metadata": {"user_id": "u1"}}, options={"idempotency_key": "k1"})
    assert (intent.status, intent.amount_received) == ("succeeded", 10000)
    fetched = sdk.v1.payment_intents.retrieve(intent.id, params={"expand": ["latest_charge.balance_transaction"]})
    transaction = fetched.latest_charge.balance_transaction
    assert (transaction.amount, transaction.fee, transaction.net) == (10000, 320, 9680)  # 2.9 % + 0.30
    assert fetched.latest_charge.metadata["user_id"] == "u1"
    event = emulator.event("payment_intent.succeeded", intent.id)
    assert event["data"]["object"]["metadata"] == {"user_id": "u1"}


def test_an_idempotency_key_makes_one_payment_intent(sdk, emulator):
    customer, method = customer_with(sdk, "pm_card_visa")
    params = {"amount": 2500, "currency": "usd", "customer": customer.id, "payment_method": method.id, "confirm": True}
    first = sdk.v1.payment_intents.create(params=params, options={"idempotency_key": "same"})
    again = sdk.v1.payment_intents.create(params=params, options={"idempotency_key": "same"})
    assert first.id == again.id and len(emulator.objects("payment_intent")) == 1
    with pytest.raises(stripe.IdempotencyError):
        sdk.v1.payment_intents.create(params={**params, "amount": 2600}, options={"idempotency_key": "same"})


@pytest.mark.parametrize("card, decline_code", [("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
                                                ("pm_card_chargeDeclined", "generic_decline")])
def test_a_declined_payment_is_a_card_error_and_charges_nothing(sdk, emulator, card, decline_code):
    with pytest.raises(stripe.CardError) as raised:
        sdk.v1.payment_intents.create(params={"amount": 2500, "currency": "usd", "payment_method": card,
                                              "confirm": True})
    error = raised.value.error
    assert (error.code, error.decline_code) == ("card_declined", decline_code)
    assert error.payment_intent.status == "requires_payment_method"
    assert emulator.objects("charge") == []


def test_a_card_that_needs_authentication(sdk, emulator):
    customer, method = customer_with(sdk, "pm_card_authenticationRequired")
    params = {"amount": 2500, "currency": "usd", "customer": customer.id, "payment_method": method.id, "confirm": True}
    on_session = sdk.v1.payment_intents.create(params=params)
    assert on_session.status == "requires_action" and on_session.client_secret.startswith(on_session.id)
    assert requests.post(f"{emulator.url}/simulator/authenticate", json={"payment_intent": on_session.id}).ok
    assert sdk.v1.payment_intents.retrieve(on_session.id).status == "succeeded"
    with pytest.raises(stripe.CardError) as raised:
        sdk.v1.payment_intents.create(params={**params, "off_session": True})
    assert raised.value.error.code == "authentication_required"


def test_refund_and_dispute_through_the_simulator(sdk, emulator):
    intent = sdk.v1.payment_intents.create(params={"amount": 5000, "currency": "usd", "payment_method": "pm_card_visa",
                                                   "confirm": True})
    refunded = requests.post(f"{emulator.url}/simulator/refund", json={"payment_intent": intent.id})
    assert refunded.status_code == 200 and refunded.json()["amount"] == 5000
    charge = emulator.event("charge.refunded")["data"]["object"]
    assert charge["refunded"] and charge["refunds"]["data"][0]["id"] == refunded.json()["id"]
    other = sdk.v1.payment_intents.create(params={"amount": 5000, "currency": "usd", "payment_method": "pm_card_visa",
                                                  "confirm": True})
    disputed = requests.post(f"{emulator.url}/simulator/dispute", json={"payment_intent": other.id}).json()
    assert disputed["balance_transactions"][0]["fee"] == 1500
    assert sdk.v1.disputes.retrieve(disputed["id"]).payment_intent == other.id
    missing = requests.post(f"{emulator.url}/simulator/refund", json={"payment_intent": "pi_nope"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing"


def test_fee_is_stripes_standard_rate():
    assert (fee_of(1000), fee_of(100000), fee_of(1234)) == (59, 2930, 66)


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.server.received.append((body, self.headers["Stripe-Signature"]))
        self.server.arrived.release()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhooks_are_signed_as_stripe_signs_them_and_can_be_resent(sdk, emulator):
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    receiver.received, receiver.arrived = [], threading.Semaphore(0)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        endpoint = sdk.v1.webhook_endpoints.create(params={
            "url": f"http://127.0.0.1:{receiver.server_address[1]}/hook", "enabled_events": ["payment_intent.succeeded"]})
        assert endpoint.url.endswith("/hook")
        intent = sdk.v1.payment_intents.create(params={"amount": 5000, "currency": "usd",
                                                       "payment_method": "pm_card_visa", "confirm": True})
        assert receiver.arrived.acquire(timeout=10)
        payload, signature = receiver.received[0]
        event = stripe.Webhook.construct_event(payload, signature, emulator.webhook_secret)
        assert (event.type, event.data.object.id) == ("payment_intent.succeeded", intent.id)
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(payload, signature, "whsec_other")
        resent = requests.post(f"{emulator.url}/simulator/resend", json={"event": event.id})
        assert resent.status_code == 200
        assert receiver.arrived.acquire(timeout=10)
        assert json.loads(receiver.received[1][0])["id"] == event.id
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_a_stale_signature_is_refused_by_the_sdk(emulator):
    payload, signature = emulator.signed({"id": "evt_1", "object": "event", "type": "x", "data": {"object": {}}},
                                         timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, signature, emulator.webhook_secret, tolerance=300)

"""Withdrawing earnings under `make run` (issue 20 §3): a routed call's payout waits out its dispute window on the
product's clock, the buyer's payout account is onboarded by opening the Stripe emulator's link, a withdrawal is a
transfer there, and the emulator's signed `transfer.reversed` webhook, back over HTTP, returns the earnings.
It moves the shared runtime's clock a week on: every other test of the group makes its own users and tokens, and
none waits on a clock it read before."""
import uuid

import pytest
import requests

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.test_identity_flow import PASSWORD, register, wait_for

pytestmark = pytest.mark.e2e
# A state of its own in the shared runtime: no other test's profile takes this call, nor this one theirs.
CALL = {"from_number": "+13072345678", "to_number": "+12125552671", "direction": "inbound"}


def test_a_buyer_withdraws_a_calls_payout_after_its_window_and_a_reversal_gives_it_back(product):
    stripe_url = product.runtime.printed("Stripe emulator")
    admin = product.login(ADMIN_EMAIL, ADMIN_PASSWORD)["tokens"]["access_token"]
    seller, buyer = register(product, "seller"), register(product, "buyer")
    for user, amount in ((seller, "100.00"), (buyer, "10.00")):
        product.call("POST", f"/admin/users/{user['user']['id']}/credits", token=admin,
                     json={"amount": amount, "reason": "e2e funds"}, headers={"Idempotency-Key": str(uuid.uuid4())})
    made = product.call("POST", "/bid-profiles", token=seller["tokens"]["access_token"], json={
        "criteria": {"geography": {"countries": ["US"], "states": ["WY"]}}, "bid_amount": "50.00",
        "destination_number": "+13125552671"})
    assert made.status_code == 201, made.text
    token = buyer["tokens"]["access_token"]
    call = product.call("POST", "/calls", token=token, json=CALL).json()["data"]
    assert product.call("POST", f"/calls/{call['id']}/route", token=token).status_code == 200
    for status in ("ringing", "in_progress"):
        product.call("PATCH", f"/calls/{call['id']}/status", token=token, json={"status": status})
    assert product.call("POST", f"/calls/{call['id']}/complete", token=token, json={"duration": 95}).ok

    account = product.call("POST", "/billing/payout-account", token=token)
    assert account.status_code == 201, account.text
    assert requests.get(account.json()["data"]["onboarding_url"], timeout=30).status_code == 200
    assert product.call("GET", "/billing/payout-account", token=token).json()["data"]["payouts_enabled"] is True

    def withdraw(amount: str) -> requests.Response:
        return product.call("POST", "/billing/withdrawals", token=token, json={"amount": amount},
                            headers={"Idempotency-Key": str(uuid.uuid4())})

    pending = withdraw("30.00")
    assert pending.status_code == 402 and pending.json()["error"]["code"] == "INSUFFICIENT_FUNDS"
    product.advance_clock(7 * 24 * 3600 + 1)
    token = product.login(buyer["email"], PASSWORD)["tokens"]["access_token"]
    money = product.call("GET", "/account/balance", token=token).json()["data"]
    assert money["earnings_pending"] == "0.00" and money["earnings_available"] == money["earnings"]
    paid = withdraw("30.00")
    assert paid.status_code == 201 and paid.json()["data"]["status"] == "paid", paid.text

    def earnings() -> str:
        return product.call("GET", "/account/balance", token=token).json()["data"]["earnings"]

    left = earnings()
    reversed_ = requests.post(f"{stripe_url}/simulator/fail-transfer",
                              json={"transfer": paid.json()["data"]["transfer_id"]}, timeout=30)
    assert reversed_.ok, reversed_.text
    wait_for(lambda: product.call("GET", "/billing/withdrawals", token=token).json()["data"][0]["status"]
             == "failed")
    assert earnings() == money["earnings"] and left != money["earnings"]
    admin = product.login(ADMIN_EMAIL, ADMIN_PASSWORD)["tokens"]["access_token"]
    assert product.call("GET", "/admin/ledger", token=admin).json()["data"]["balanced"] is True

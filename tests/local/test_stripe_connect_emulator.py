"""The Stripe emulator's Connect (issue 20 §3) through the real `stripe` SDK: Express accounts, onboarding links
that complete onboarding when opened, transfers (idempotent, refused until the account is onboarded) and
their reversals, with Stripe's events."""
from __future__ import annotations

import time

import pytest
import requests
import stripe

from tests.local.stripe_fixtures import emulator, sdk  # noqa: F401 - fixtures


def express_account(sdk):
    return sdk.v1.accounts.create(params={"type": "express", "email": "ada@example.com",
                                          "capabilities": {"transfers": {"requested": True}},
                                          "metadata": {"user_id": "u1"}})


def onboarding_link(sdk, account_id):
    return sdk.v1.account_links.create(params={
        "account": account_id, "type": "account_onboarding",
        "refresh_url": "https://app.example.com/refresh", "return_url": "https://app.example.com/done"})


def onboarded(sdk):
    account = express_account(sdk)
    assert requests.get(onboarding_link(sdk, account.id).url, timeout=10).status_code == 200
    return account


def test_an_express_account_is_onboarded_by_opening_its_link(sdk, emulator):
    account = express_account(sdk)
    assert account.id.startswith("acct_") and account.type == "express"
    assert (account.payouts_enabled, account.details_submitted, account.capabilities.transfers) == \
        (False, False, "inactive")
    link = onboarding_link(sdk, account.id)
    assert link.object == "account_link" and link.expires_at > time.time()
    opened = requests.get(link.url, timeout=10)
    assert opened.status_code == 200 and "https://app.example.com/done" in opened.text
    again = sdk.v1.accounts.retrieve(account.id)
    assert (again.payouts_enabled, again.details_submitted, again.capabilities.transfers) == (True, True, "active")
    assert emulator.event("account.updated", account.id)["data"]["object"]["payouts_enabled"] is True
    assert requests.get(f"{emulator.url}/connect/onboarding/unknown", timeout=10).status_code == 410


def test_an_account_link_names_a_known_account(sdk):
    with pytest.raises(stripe.InvalidRequestError) as raised:
        onboarding_link(sdk, "acct_unknown")
    assert raised.value.http_status == 404


def test_a_transfer_reaches_an_onboarded_account_once_per_idempotency_key(sdk, emulator):
    account = onboarded(sdk)
    params = {"amount": 2500, "currency": "usd", "destination": account.id, "metadata": {"withdrawal_id": "w1"}}
    first = sdk.v1.transfers.create(params=params, options={"idempotency_key": "withdrawal-w1"})
    again = sdk.v1.transfers.create(params=params, options={"idempotency_key": "withdrawal-w1"})
    assert first.id == again.id and first.id.startswith("tr_")
    assert (first.amount, first.destination, first.reversed, first.metadata["withdrawal_id"]) == \
        (2500, account.id, False, "w1")
    assert len(emulator.objects("transfer")) == 1
    assert emulator.event("transfer.created", first.id)["data"]["object"]["amount"] == 2500
    assert sdk.v1.transfers.retrieve(first.id).amount == 2500


def test_a_transfer_to_an_account_not_onboarded_is_refused(sdk, emulator):
    account = express_account(sdk)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.transfers.create(params={"amount": 2500, "currency": "usd", "destination": account.id})
    assert raised.value.code == "insufficient_capabilities_for_transfer" and raised.value.param == "destination"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        sdk.v1.transfers.create(params={"amount": 2500, "currency": "usd", "destination": "acct_unknown"})
    assert unknown.value.param == "destination"
    assert emulator.objects("transfer") == []


def test_a_failed_transfer_is_reversed_in_full_with_transfer_reversed(sdk, emulator):
    account = onboarded(sdk)
    transfer = sdk.v1.transfers.create(params={"amount": 4000, "currency": "usd", "destination": account.id})
    failed = requests.post(f"{emulator.url}/simulator/fail-transfer", json={"transfer": transfer.id}, timeout=10)
    assert failed.status_code == 200 and failed.json()["reversed"] is True
    event = emulator.event("transfer.reversed", transfer.id)["data"]["object"]
    assert (event["amount_reversed"], event["reversed"]) == (4000, True)
    assert event["reversals"]["data"][0]["amount"] == 4000 and event["reversals"]["data"][0]["id"].startswith("trr_")
    again = requests.post(f"{emulator.url}/simulator/fail-transfer", json={"transfer": transfer.id}, timeout=10)
    assert again.status_code == 400  # nothing left to reverse


def test_a_partial_reversal_through_the_api(sdk):
    account = onboarded(sdk)
    transfer = sdk.v1.transfers.create(params={"amount": 4000, "currency": "usd", "destination": account.id})
    reversal = sdk.v1.transfers.reversals.create(transfer.id, params={"amount": 1000})
    assert reversal.object == "transfer_reversal" and reversal.amount == 1000
    after = sdk.v1.transfers.retrieve(transfer.id)
    assert (after.amount_reversed, after.reversed) == (1000, False)


def test_transfers_are_listed_by_transfer_group(sdk):
    account = onboarded(sdk)
    mine = sdk.v1.transfers.create(params={"amount": 2500, "currency": "usd", "destination": account.id,
                                           "transfer_group": "withdrawal-w1"})
    sdk.v1.transfers.create(params={"amount": 2600, "currency": "usd", "destination": account.id})
    assert [t.id for t in sdk.v1.transfers.list(params={"transfer_group": "withdrawal-w1"}).data] == [mine.id]
    assert len(sdk.v1.transfers.list(params={"destination": account.id}).data) == 2

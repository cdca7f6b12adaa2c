"""Funding a balance by card (issue 20 §1, §2), in-process with the local Stripe emulator behind the real SDK.
Stripe's events are handed to POST /webhooks/stripe by each test, signed as the emulator signs them."""
from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from chalicelib.domain.errors import PaymentRequired
from chalicelib.domain.ledger import PLATFORM_FUNDING, PLATFORM_PAYMENT_FEES
from chalicelib.gateways import queues
from chalicelib.persistence.tables import AccountModel, LedgerTransactionModel
from local import dispatcher


@pytest.fixture
def seller(api):
    return api.register("seller")


def add_card(api, user, test_card="pm_card_visa"):
    result = api.post("/billing/payment-methods", {"payment_method": test_card}, token=user["token"])
    assert result.status == 201, result.body
    return result.data["payment_method_id"]


def top_up(api, user, card, amount="100.00", key=None):
    return api.post("/billing/top-ups", {"amount": amount, "payment_method_id": card}, token=user["token"],
                    headers={"Idempotency-Key": key or str(uuid.uuid4())})


def deliver(api, stripe_emulator, event, timestamp=None, signature=None):
    payload, signed = stripe_emulator.signed(event, timestamp)
    return api.call("POST", "/webhooks/stripe", raw=payload,
                    headers={"Stripe-Signature": signature or signed, "Content-Type": "application/json"})


def balance(user):
    return int(AccountModel.get(user["user"]["id"], consistent_read=True).balance)


def books(api):
    result = api.get("/admin/ledger", token=api.admin()["token"])
    assert result.status == 200, result.body
    return result.data


def platform(api):
    return {a["account_id"]: a["balance"] for a in books(api)["platform_accounts"]}


def test_cards_are_attached_listed_and_detached(api, seller):
    card = add_card(api, seller, "pm_card_mastercard")
    listed = api.get("/billing/payment-methods", token=seller["token"])
    assert listed.status == 200
    [shown] = listed.data
    assert (shown["payment_method_id"], shown["brand"], shown["last4"]) == (card, "mastercard", "4444")
    assert shown["exp_month"] == 12 and shown["exp_year"] > 2025
    other = api.register("buyer")
    assert api.call("DELETE", f"/billing/payment-methods/{card}", token=other["token"]).status == 404
    set_auto_recharge(api, seller, card)
    assert api.call("DELETE", f"/billing/payment-methods/{card}", token=seller["token"]).status == 204
    assert api.get("/billing/payment-methods", token=seller["token"]).data == []
    shown = api.get("/billing/auto-recharge", token=seller["token"]).data
    assert (shown["enabled"], shown["last_failure"]) == (False, "payment_method_removed")
    spare = add_card(api, other)  # a card auto-recharge never paid with
    assert api.call("DELETE", f"/billing/payment-methods/{spare}", token=other["token"]).status == 204
    assert api.call("DELETE", "/billing/payment-methods/not-a-card", token=seller["token"]).status == 400


def test_a_card_declined_when_attached_is_402(api, seller):
    result = api.post("/billing/payment-methods", {"payment_method": "pm_card_chargeDeclined"}, token=seller["token"])
    assert result.status == 402 and result.error["code"] == "CARD_DECLINED"
    assert result.error["details"][0]["code"] == "generic_decline"


def test_a_top_up_is_credited_once_the_full_amount_with_stripes_fee_the_platforms(api, seller, stripe_emulator):
    card = add_card(api, seller)
    result = top_up(api, seller, card, "100.00")
    assert result.status == 201, result.body
    assert result.data["status"] == "succeeded" and result.data["amount"] == "100.00"
    assert result.data["payment_intent_id"].startswith("pi_")
    assert balance(seller) == 100_0000  # the fetched PaymentIntent credited it
    event = stripe_emulator.event("payment_intent.succeeded", result.data["payment_intent_id"])
    assert deliver(api, stripe_emulator, event).status == 200
    assert deliver(api, stripe_emulator, event).status == 200  # the same event twice
    assert balance(seller) == 100_0000
    assert platform(api)[PLATFORM_PAYMENT_FEES] == "-3.20"  # 2.9 % + 0.30
    assert platform(api)[PLATFORM_FUNDING] == "-96.80"
    assert books(api)["balanced"] is True
    assert [t["status"] for t in api.get("/billing/top-ups", token=seller["token"]).data] == ["succeeded"]


def test_the_webhook_credits_first_and_the_fetch_then_changes_nothing(api, seller, stripe_emulator):
    """The webhook, delivered while the product has not heard Stripe's answer yet, credits; the answer then
    credits nothing more."""
    from chalicelib.services import funding

    card = add_card(api, seller)
    original = funding.settle
    delivered = []

    def webhook_first(record, intent):
        if not delivered:  # the answer's settling, not the webhook's own
            delivered.append(None)
            delivered[0] = deliver(api, stripe_emulator, stripe_emulator.event("payment_intent.succeeded",
                                                                               intent["id"])).status
        return original(record, intent)

    funding.settle = webhook_first
    try:
        result = top_up(api, seller, card, "50.00")
    finally:
        funding.settle = original
    assert delivered == [200] and result.data["status"] == "succeeded"
    assert balance(seller) == 50_0000
    assert LedgerTransactionModel.count() == 1


def test_forged_and_stale_signatures_are_refused_and_credit_nothing(api, seller, stripe_emulator):
    card = add_card(api, seller)
    stripe_emulator.webhook_url = None
    intent = requests.post(f"{stripe_emulator.url}/v1/payment_intents", headers={
        "Authorization": f"Bearer {stripe_emulator.secret_key}"}, data={
        "amount": "2500", "currency": "usd", "payment_method": "pm_card_visa", "confirm": "true",
        "metadata[user_id]": seller["user"]["id"], "metadata[top_up_id]": str(uuid.uuid4())}).json()
    event = stripe_emulator.event("payment_intent.succeeded", intent["id"])
    forged = deliver(api, stripe_emulator, event, signature="t=%d,v1=%s" % (time.time(), "0" * 64))
    stale = deliver(api, stripe_emulator, event, timestamp=int(time.time()) - 301)
    unsigned = api.call("POST", "/webhooks/stripe", raw=json.dumps(event), headers={"Content-Type": "application/json"})
    assert (forged.status, stale.status, unsigned.status) == (400, 400, 400)
    assert forged.error["code"] == "INVALID_SIGNATURE"
    assert balance(seller) == 0 and LedgerTransactionModel.count() == 0
    assert card


def test_a_retry_with_its_idempotency_key_makes_one_payment_intent(api, seller, stripe_emulator):
    card = add_card(api, seller)
    first = top_up(api, seller, card, "25.00", key="order-7")
    again = top_up(api, seller, card, "25.00", key="order-7")
    assert first.status == again.status == 201 and first.data["id"] == again.data["id"]
    assert len(stripe_emulator.objects("payment_intent")) == 1 and balance(seller) == 25_0000
    other = top_up(api, seller, card, "26.00", key="order-7")
    assert other.status == 409 and other.error["code"] == "IDEMPOTENCY_KEY_REUSED"
    missing = api.post("/billing/top-ups", {"amount": "25.00", "payment_method_id": card}, token=seller["token"])
    assert missing.status == 400


def test_amounts_outside_ten_to_ten_thousand_are_refused(api, seller, stripe_emulator):
    card = add_card(api, seller)
    for amount in ("9.99", "10000.01", "12.345"):
        result = top_up(api, seller, card, amount)
        assert result.status == 400 and result.error["code"] == "INVALID_AMOUNT", amount
    assert stripe_emulator.objects("payment_intent") == []


def test_a_decline_moves_no_money(api, seller, stripe_emulator):
    card = add_card(api, seller, "pm_card_chargeDeclinedInsufficientFunds")
    result = top_up(api, seller, card, "40.00", key="k")
    assert result.status == 402 and result.error["code"] == "CARD_DECLINED"
    assert result.error["details"][0]["code"] == "insufficient_funds"
    assert top_up(api, seller, card, "40.00", key="k").status == 402  # the retry is the same answer
    assert balance(seller) == 0 and LedgerTransactionModel.count() == 0
    assert deliver(api, stripe_emulator, stripe_emulator.event("payment_intent.payment_failed")).status == 200
    assert [t["status"] for t in api.get("/billing/top-ups", token=seller["token"]).data] == ["failed"]


def test_someone_elses_card_is_not_found(api, seller):
    card = add_card(api, seller)
    buyer = api.register("buyer")
    add_card(api, buyer)
    result = top_up(api, buyer, card)
    assert result.status == 404 and result.error["code"] == "PAYMENT_METHOD_NOT_FOUND"


def test_a_card_that_needs_3d_secure_answers_its_client_secret_and_is_credited_once_authenticated(
        api, seller, stripe_emulator):
    card = add_card(api, seller, "pm_card_authenticationRequired")
    result = top_up(api, seller, card, "30.00")
    assert result.status == 201 and result.data["status"] == "requires_action"
    assert result.data["client_secret"].startswith(result.data["payment_intent_id"])
    assert balance(seller) == 0
    assert requests.post(f"{stripe_emulator.url}/simulator/authenticate",
                         json={"payment_intent": result.data["payment_intent_id"]}).ok
    [listed] = api.get("/billing/top-ups", token=seller["token"]).data  # fetched from Stripe
    assert listed["status"] == "succeeded" and balance(seller) == 30_0000


def test_a_buyer_tops_up_too(api):
    buyer = api.register("buyer")
    assert top_up(api, buyer, add_card(api, buyer), "10.00").data["status"] == "succeeded"
    assert balance(buyer) == 10_0000


def test_a_refund_takes_the_money_back(api, seller, stripe_emulator):
    card = add_card(api, seller)
    intent = top_up(api, seller, card, "60.00").data["payment_intent_id"]
    assert requests.post(f"{stripe_emulator.url}/simulator/refund", json={"payment_intent": intent}).ok
    event = stripe_emulator.event("charge.refunded")
    assert deliver(api, stripe_emulator, event).status == 200
    assert deliver(api, stripe_emulator, event).status == 200
    assert balance(seller) == 0
    assert books(api)["balanced"] is True


def test_a_chargeback_past_the_credit_limit_is_owed_and_stops_bidding(api, seller, stripe_emulator):
    card = add_card(api, seller)
    intent = top_up(api, seller, card, "100.00").data["payment_intent_id"]
    admin = api.admin()
    assert api.call("PUT", f"/admin/users/{seller['user']['id']}", {"credit_limit": "20.00"},
                    token=admin["token"]).status == 200
    api.fund(seller, "1.00")
    spend(seller["user"]["id"], 70_0000, "h1")  # held for calls meanwhile: 31.00 left in the balance
    assert requests.post(f"{stripe_emulator.url}/simulator/dispute", json={"payment_intent": intent}).ok
    assert deliver(api, stripe_emulator, stripe_emulator.event("charge.dispute.created")).status == 200
    account = api.get("/billing/account", token=seller["token"]).data
    assert account["balance"] == "-69.00" and account["available"] == "-49.00"  # 20.00 limit, 49.00 owed
    assert api.get("/billing/auto-recharge", token=seller["token"]).data["owed"] == "49.00"
    assert platform(api)[PLATFORM_PAYMENT_FEES] == "-18.20"  # the card fee and the chargeback's 15.00
    assert books(api)["balanced"] is True
    with pytest.raises(PaymentRequired):  # no routing hold (nor bid) passes until a top-up pays it back
        spend(seller["user"]["id"], 1_0000, "h2")
    assert top_up(api, seller, card, "50.00").data["status"] == "succeeded"
    assert api.get("/billing/auto-recharge", token=seller["token"]).data["owed"] == "0.00"
    spend(seller["user"]["id"], 1_0000, "h3")


def test_top_ups_are_listed_newest_first_page_by_page_and_an_admin_names_whose(api, seller, stripe_emulator, clock):
    card = add_card(api, seller)
    made = []
    for amount in ("10.00", "11.00", "12.00"):
        made.append(top_up(api, seller, card, amount).data["id"])
        clock.advance(seconds=1)
    assert api.two_pages("/billing/top-ups", seller["token"]) == (made[::-1], 3, None)
    listed = api.get(f"/billing/top-ups?user_id={seller['user']['id']}", token=api.admin()["token"])
    assert [t["amount"] for t in listed.data] == ["12.00", "11.00", "10.00"]


# --- auto-recharge ---------------------------------------------------------------------------------

def recharge_messages(outbox) -> list[dict]:
    outbox.publish()
    sqs, url = queues._client(), queues.queue_url(queues.AUTO_RECHARGE)
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def run_worker(client, message) -> None:
    event = dispatcher.sqs_event([message], "arn:aws:sqs:us-east-1:000000000000:q", "us-east-1")
    client.lambda_.invoke("start_auto_recharges", event)


def set_auto_recharge(api, user, card, enabled=True, below="50.00", amount="100.00"):
    result = api.put("/billing/auto-recharge", {"enabled": enabled, "below": below, "amount": amount,
                                                "payment_method_id": card}, token=user["token"])
    assert result.status == 200, result.body
    return result.data


def spend(user_id, amount, key):
    from chalicelib import clock
    from chalicelib.domain.ledger import hold
    from chalicelib.persistence.ledger import post

    post(hold(key, user_id, amount, "a routed call", key), clock.now())


def test_a_hold_that_takes_the_balance_under_the_mark_starts_one_top_up(api, seller, client, outbox,
                                                                        stripe_emulator, clock):
    card = add_card(api, seller)
    top_up(api, seller, card, "60.00")
    clock.advance(minutes=1)
    shown = set_auto_recharge(api, seller, card)
    assert (shown["enabled"], shown["below"], shown["amount"], shown["in_flight"]) == (True, "50.00", "100.00", False)
    recharge_messages(outbox)
    spend(seller["user"]["id"], 5_0000, "h1")  # 55.00 left: not under the mark, so no message and no invocation
    assert recharge_messages(outbox) == []
    spend(seller["user"]["id"], 6_0000, "h2")  # 49.00: under it
    [message] = recharge_messages(outbox)
    run_worker(client, message)
    run_worker(client, message)  # SQS delivers it again
    assert len(stripe_emulator.objects("payment_intent")) == 2 and balance(seller) == 149_0000
    statuses = [(t["automatic"], t["status"]) for t in api.get("/billing/top-ups", token=seller["token"]).data]
    assert statuses == [(True, "succeeded"), (False, "succeeded")]
    assert api.get("/billing/auto-recharge", token=seller["token"]).data["in_flight"] is False


def test_only_an_account_with_auto_recharge_on_and_under_its_mark_costs_the_worker_a_message(api, seller, outbox):
    card = add_card(api, seller)
    top_up(api, seller, card, "60.00")
    other = api.register("seller")
    api.fund(other, "60.00")
    recharge_messages(outbox)
    spend(other["user"]["id"], 20_0000, "o1")  # no auto-recharge: never a message, however low
    set_auto_recharge(api, seller, card)
    set_auto_recharge(api, seller, card, enabled=False)  # off again: the account's mark is gone
    spend(seller["user"]["id"], 20_0000, "s1")
    assert recharge_messages(outbox) == []
    set_auto_recharge(api, seller, card)
    spend(seller["user"]["id"], 1_0000, "s2")
    spend(other["user"]["id"], 1_0000, "o2")
    assert [json.loads(m["Body"])["account_id"] for m in recharge_messages(outbox)] == [seller["user"]["id"]]


def test_under_concurrency_one_top_up_starts(api, seller, client, outbox, stripe_emulator):
    card = add_card(api, seller)
    top_up(api, seller, card, "60.00")
    set_auto_recharge(api, seller, card, below="59.00")
    recharge_messages(outbox)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: spend(seller["user"]["id"], 1_0000, f"h{n}"), range(8)))
    messages = recharge_messages(outbox)
    assert len(messages) == 8
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda m: run_worker(client, m), messages))
    assert len(stripe_emulator.objects("payment_intent")) == 2  # the manual top-up and one automatic
    assert balance(seller) == 152_0000
    assert books(api)["balanced"] is True


@pytest.mark.parametrize("test_card, code", [("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
                                             ("pm_card_authenticationRequired", "authentication_required")])
def test_a_failed_recharge_turns_it_off_and_tells_the_user(api, seller, client, outbox, stripe_emulator,
                                                           test_card, code):
    api.fund(seller, "60.00")
    card = add_card(api, seller, test_card)
    set_auto_recharge(api, seller, card)
    spend(seller["user"]["id"], 20_0000, "h1")
    [message] = recharge_messages(outbox)
    run_worker(client, message)
    shown = api.get("/billing/auto-recharge", token=seller["token"]).data
    assert (shown["enabled"], shown["last_failure"], shown["in_flight"]) == (False, code, False)
    assert balance(seller) == 40_0000
    outbox.publish()
    sqs, url = queues._client(), queues.queue_url(queues.NOTIFICATIONS)
    kinds = [json.loads(m["Body"])["kind"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
             .get("Messages", [])]
    assert kinds.count("auto_recharge_failed") == 1
    spend(seller["user"]["id"], 1_0000, "h2")  # off now: nothing more starts
    for message in recharge_messages(outbox):
        run_worker(client, message)
    assert len(stripe_emulator.objects("payment_intent")) == 1
    assert books(api)["balanced"] is True


def test_a_card_stripe_does_not_know_is_not_found(api, seller):
    result = api.post("/billing/payment-methods", {"payment_method": "pm_1NoSuchCard"}, token=seller["token"])
    assert result.status == 404 and result.error["code"] == "PAYMENT_METHOD_NOT_FOUND"
    card = add_card(api, seller)
    buyer = api.register("buyer")
    taken = api.post("/billing/payment-methods", {"payment_method": card}, token=buyer["token"])
    assert taken.status == 409 and taken.error["code"] == "PAYMENT_METHOD_UNUSABLE"


def test_a_forged_webhook_is_refused_whatever_it_holds(api):
    for body in ({}, {"id": 5, "data": "x"}, {"type": "payment_intent.succeeded"}):
        result = api.call("POST", "/webhooks/stripe", body, headers={"Stripe-Signature": "t=1,v1=00"})
        assert result.status == 400 and result.error["code"] == "INVALID_SIGNATURE", body

"""Withdrawing earnings (issue 20 §3), in-process with the local Stripe emulator behind the real SDK: a buyer's
payout account (Stripe Connect Express, onboarded by opening its link), withdrawals of the available earnings (one
Stripe transfer each, idempotent), a failed transfer giving the earnings back, and the weekly auto-withdrawal.
Stripe's events are handed to POST /webhooks/stripe by each test, signed as the emulator signs them."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from chalicelib.domain.ledger import BALANCE, EARNINGS, PLATFORM_PAYOUTS, transfer
from chalicelib.persistence.ledger import post
from chalicelib.persistence.tables import AccountModel, LedgerTransactionModel, PayoutAccountModel, WithdrawalModel


@pytest.fixture
def buyer(api):
    return api.register("buyer")


@pytest.fixture
def seller(api):
    return api.register("seller")


def earn(buyer, seller, amount: int, clock, days_ago: float = 8) -> None:
    """A call's payout to the buyer, settled `days_ago` by the product's clock (older than 7 days: available)."""
    posting = transfer(f"earned:{uuid.uuid4()}", "call_settlement", "Call", debit=(seller["user"]["id"], BALANCE),
                       credit=(buyer["user"]["id"], EARNINGS), amount=amount, reference=str(uuid.uuid4()))
    post(posting, clock() - timedelta(days=days_ago), enforce_limits=False)


def connect(api, user):
    result = api.post("/billing/payout-account", token=user["token"])
    assert result.status == 201, result.body
    return result.data


def onboarded(api, user):
    account = connect(api, user)
    assert requests.get(account["onboarding_url"], timeout=10).status_code == 200
    return account


def withdraw(api, user, amount, key=None):
    return api.post("/billing/withdrawals", {"amount": amount}, token=user["token"],
                    headers={"Idempotency-Key": key or str(uuid.uuid4())})


def money(api, user):
    return api.get("/account/balance", token=user["token"]).data


def books(api):
    result = api.get("/admin/ledger", token=api.admin()["token"])
    assert result.status == 200, result.body
    return result.data


def payouts_balance(api) -> str:
    """The platform's payouts account in balanced books."""
    ledger = books(api)
    assert ledger["balanced"] is True
    return {a["account_id"]: a["balance"] for a in ledger["platform_accounts"]}[PLATFORM_PAYOUTS]


def deliver(api, stripe_emulator, event):
    payload, signature = stripe_emulator.signed(event)
    return api.call("POST", "/webhooks/stripe", raw=payload,
                    headers={"Stripe-Signature": signature, "Content-Type": "application/json"})


def test_a_buyer_connects_a_payout_account_and_is_onboarded_by_its_link(api, buyer, stripe_emulator):
    before = api.get("/billing/payout-account", token=buyer["token"])
    assert before.status == 200
    assert before.data == {"stripe_account_id": None, "payouts_enabled": False, "onboarding_url": None,
                           "auto_withdraw": False}
    account = connect(api, buyer)
    assert account["stripe_account_id"].startswith("acct_") and account["payouts_enabled"] is False
    assert account["onboarding_url"].startswith(stripe_emulator.url)
    [made] = stripe_emulator.objects("account")
    assert (made["type"], made["metadata"]["user_id"]) == ("express", buyer["user"]["id"])

    assert requests.get(account["onboarding_url"], timeout=10).status_code == 200
    shown = api.get("/billing/payout-account", token=buyer["token"]).data
    assert (shown["stripe_account_id"], shown["payouts_enabled"], shown["onboarding_url"]) == \
        (account["stripe_account_id"], True, None)
    assert connect(api, buyer)["stripe_account_id"] == account["stripe_account_id"]  # one account per buyer
    assert len(stripe_emulator.objects("account")) == 1


def test_account_updated_keeps_whether_payouts_are_enabled(api, buyer, stripe_emulator):
    account = connect(api, buyer)
    requests.get(account["onboarding_url"], timeout=10)
    assert PayoutAccountModel.get(buyer["user"]["id"]).payouts_enabled is False  # not read since
    event = stripe_emulator.event("account.updated", account["stripe_account_id"])
    assert deliver(api, stripe_emulator, event).status == 200
    assert PayoutAccountModel.get(buyer["user"]["id"]).payouts_enabled is True


def test_sellers_have_no_payout_account_and_no_withdrawals(api, seller):
    for method, path, body in (("POST", "/billing/payout-account", None), ("GET", "/billing/payout-account", None),
                               ("PUT", "/billing/payout-account", {"auto_withdraw": True}),
                               ("GET", "/billing/withdrawals", None)):
        refused = api.call(method, path, body, token=seller["token"])
        assert refused.status == 403 and refused.error["code"] == "FORBIDDEN_ACCOUNT_TYPE", (method, path)
    refused = withdraw(api, seller, "30.00")
    assert refused.status == 403
    assert PayoutAccountModel.count() == 0 and WithdrawalModel.count() == 0


def test_without_an_enabled_payout_account_a_withdrawal_is_409(api, buyer, seller, clock, stripe_emulator):
    earn(buyer, seller, 100_0000, clock)
    missing = withdraw(api, buyer, "30.00")
    assert missing.status == 409 and missing.error["code"] == "PAYOUT_ACCOUNT_REQUIRED"
    connect(api, buyer)  # not onboarded
    not_enabled = withdraw(api, buyer, "30.00")
    assert not_enabled.status == 409 and not_enabled.error["code"] == "PAYOUT_ACCOUNT_REQUIRED"
    assert WithdrawalModel.count() == 0 and stripe_emulator.objects("transfer") == []
    assert money(api, buyer)["earnings"] == "100.00"


def test_a_withdrawal_transfers_the_amount_and_moves_it_out_of_the_earnings(api, buyer, seller, clock,
                                                                           stripe_emulator):
    account = onboarded(api, buyer)
    earn(buyer, seller, 100_0000, clock)
    result = withdraw(api, buyer, "60.00")
    assert result.status == 201, result.body
    assert (result.data["amount"], result.data["status"], result.data["automatic"]) == ("60.00", "paid", False)
    [made] = stripe_emulator.objects("transfer")
    assert (made["id"], made["amount"], made["currency"], made["destination"]) == \
        (result.data["transfer_id"], 6000, "usd", account["stripe_account_id"])
    assert money(api, buyer)["earnings"] == "40.00" and money(api, buyer)["earnings_available"] == "40.00"
    listed = api.get("/billing/withdrawals", token=buyer["token"])
    assert listed.status == 200
    assert [(w["id"], w["status"], w["transfer_id"]) for w in listed.data] == \
        [(result.data["id"], "paid", made["id"])]
    assert payouts_balance(api) == "60.00"


def test_withdrawals_are_listed_newest_first_page_by_page_and_an_admin_names_whose(api, buyer, seller, clock,
                                                                                  stripe_emulator):
    onboarded(api, buyer)
    earn(buyer, seller, 100_0000, clock)
    made = []
    for amount in ("25.00", "26.00", "27.00"):
        made.append(withdraw(api, buyer, amount).data["id"])
        clock.advance(seconds=1)
    assert api.two_pages("/billing/withdrawals", buyer["token"]) == (made[::-1], 3, None)
    admin = api.admin()["token"]
    assert [w["amount"] for w in api.get(f"/billing/withdrawals?user_id={buyer['user']['id']}", token=admin).data] \
        == ["27.00", "26.00", "25.00"]
    unnamed = api.get("/billing/withdrawals", token=admin)
    assert unnamed.status == 400 and unnamed.error["details"][0]["field"] == "user_id"
    other = api.register("buyer")
    assert api.get(f"/billing/withdrawals?user_id={buyer['user']['id']}", token=other["token"]).status == 403


def test_over_the_available_earnings_is_402_pending_ones_excluded(api, buyer, seller, clock, stripe_emulator):
    onboarded(api, buyer)
    earn(buyer, seller, 30_0000, clock)  # available
    earn(buyer, seller, 50_0000, clock, days_ago=6.9)  # still in its dispute window
    shown = money(api, buyer)
    assert (shown["earnings"], shown["earnings_pending"], shown["earnings_available"]) == ("80.00", "50.00", "30.00")
    over = withdraw(api, buyer, "30.01")
    assert over.status == 402 and over.error["code"] == "INSUFFICIENT_FUNDS"
    assert WithdrawalModel.count() == 0 and stripe_emulator.objects("transfer") == []
    assert withdraw(api, buyer, "30.00").status == 201
    again = withdraw(api, buyer, "25.00")
    assert again.status == 402 and again.error["code"] == "INSUFFICIENT_FUNDS"
    assert len(stripe_emulator.objects("transfer")) == 1


@pytest.mark.parametrize("amount", ["24.99", "25.001", "0", "-30.00"])
def test_a_withdrawal_is_at_least_25_in_whole_cents(api, buyer, seller, clock, amount):
    onboarded(api, buyer)
    earn(buyer, seller, 100_0000, clock)
    refused = withdraw(api, buyer, amount)
    assert refused.status == 400, (amount, refused.body)
    assert WithdrawalModel.count() == 0


def test_the_idempotency_key_is_required(api, buyer, seller, clock):
    onboarded(api, buyer)
    earn(buyer, seller, 100_0000, clock)
    refused = api.post("/billing/withdrawals", {"amount": "30.00"}, token=buyer["token"])
    assert refused.status == 400 and WithdrawalModel.count() == 0


def test_a_retry_with_its_idempotency_key_makes_one_transfer_and_one_posting(api, buyer, seller, clock,
                                                                            stripe_emulator):
    onboarded(api, buyer)
    earn(buyer, seller, 100_0000, clock)
    postings = LedgerTransactionModel.count()
    first = withdraw(api, buyer, "30.00", key="payout-7")
    again = withdraw(api, buyer, "30.00", key="payout-7")
    assert first.status == again.status == 201 and first.data == again.data
    assert len(stripe_emulator.objects("transfer")) == 1
    assert LedgerTransactionModel.count() == postings + 1
    assert money(api, buyer)["earnings"] == "70.00"
    other = withdraw(api, buyer, "31.00", key="payout-7")
    assert other.status == 409 and other.error["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_a_withdrawal_left_pending_is_finished_by_its_retry_with_the_same_transfer(api, buyer, seller, clock,
                                                                                  stripe_emulator, monkeypatch):
    from chalicelib.gateways import stripe_gateway
    from chalicelib.gateways.stripe_gateway import PaymentProviderUnavailable

    onboarded(api, buyer)
    earn(buyer, seller, 100_0000, clock)
    real = stripe_gateway.transfer

    def made_then_lost(**kwargs):
        real(**kwargs)  # Stripe made it; its answer never came back
        raise PaymentProviderUnavailable("The payment provider is unavailable; try again shortly")

    monkeypatch.setattr(stripe_gateway, "transfer", made_then_lost)
    first = withdraw(api, buyer, "30.00", key="k1")
    assert first.status == 201 and first.data["status"] == "pending" and first.data["transfer_id"] is None
    assert money(api, buyer)["earnings"] == "70.00"  # taken while the transfer is under way
    monkeypatch.setattr(stripe_gateway, "transfer", real)
    again = withdraw(api, buyer, "30.00", key="k1")
    [made] = stripe_emulator.objects("transfer")
    assert (again.data["status"], again.data["transfer_id"]) == ("paid", made["id"])
    assert money(api, buyer)["earnings"] == "70.00"


def test_a_failed_transfer_gives_the_earnings_back_once(api, buyer, seller, clock, stripe_emulator):
    onboarded(api, buyer)
    earn(buyer, seller, 100_0000, clock)
    paid = withdraw(api, buyer, "40.00").data
    failed = requests.post(f"{stripe_emulator.url}/simulator/fail-transfer", json={"transfer": paid["transfer_id"]},
                           timeout=10)
    assert failed.status_code == 200
    event = stripe_emulator.event("transfer.reversed", paid["transfer_id"])
    assert deliver(api, stripe_emulator, event).status == 200
    assert deliver(api, stripe_emulator, event).status == 200  # the same event twice
    [shown] = api.get("/billing/withdrawals", token=buyer["token"]).data
    assert (shown["status"], shown["failure_code"]) == ("failed", "transfer_reversed")
    assert money(api, buyer)["earnings"] == "100.00"
    assert payouts_balance(api) == "0.00"


def test_a_transfer_stripe_refuses_fails_the_withdrawal_and_moves_no_money(api, buyer, seller, clock,
                                                                          stripe_emulator):
    connect(api, buyer)
    # The product believes payouts are enabled (an account.updated it heard), Stripe does not: it refuses.
    PayoutAccountModel(buyer["user"]["id"]).update(actions=[PayoutAccountModel.payouts_enabled.set(True)])
    earn(buyer, seller, 100_0000, clock)
    result = withdraw(api, buyer, "40.00")
    assert result.status == 201, result.body
    assert (result.data["status"], result.data["failure_code"]) == ("failed", "insufficient_capabilities_for_transfer")
    assert stripe_emulator.objects("transfer") == []
    assert money(api, buyer)["earnings"] == "100.00"
    assert withdraw(api, buyer, "40.00").status == 201  # the next one fails the same way, and gives back too
    assert money(api, buyer)["earnings"] == "100.00" and books(api)["balanced"] is True


def test_two_concurrent_withdrawals_never_both_pass_the_available_check(api, buyer, seller, clock, stripe_emulator,
                                                                        monkeypatch):
    from chalicelib.services import payouts

    onboarded(api, buyer)
    earn(buyer, seller, 50_0000, clock)
    earn(buyer, seller, 100_0000, clock, days_ago=1)  # pending: the earnings alone would let both through
    both_read = threading.Barrier(2, timeout=30)
    reads = iter(range(2))
    real = payouts._earnings

    def read_together(user_id, now):
        found = real(user_id, now)
        if next(reads, None) is not None:
            both_read.wait()  # each has checked the available earnings before either commits
        return found

    monkeypatch.setattr(payouts, "_earnings", read_together)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda n: withdraw(api, buyer, "30.00"), range(2)))
    assert sorted(a.status for a in answers) == [201, 402], [a.body for a in answers]
    assert len(stripe_emulator.objects("transfer")) == 1
    assert money(api, buyer)["earnings"] == "120.00" and books(api)["balanced"] is True


def test_a_dispute_reversal_between_the_check_and_the_commit_never_lets_a_withdrawal_take_pending_earnings(
        api, buyer, seller, clock, stripe_emulator, monkeypatch):
    from chalicelib.services import payouts

    onboarded(api, buyer)
    earn(buyer, seller, 50_0000, clock)
    earn(buyer, seller, 100_0000, clock, days_ago=1)  # pending
    real, reversed_once = payouts._earnings, []

    def reversal_lands_after_the_read(user_id, now):
        found = real(user_id, now)
        if not reversed_once:  # the pending call's dispute is accepted after the check, before the commit
            reversed_once.append(post(transfer(
                "dispute_reversal:c2", "dispute_reversal", "Call c2: dispute accepted",
                debit=(buyer["user"]["id"], EARNINGS), credit=(seller["user"]["id"], BALANCE), amount=100_0000),
                clock(), enforce_limits=False))
        return found

    monkeypatch.setattr(payouts, "_earnings", reversal_lands_after_the_read)
    refused = withdraw(api, buyer, "50.00")
    # 50.00 of earnings are left, all of them the pending call's: nothing is available any more.
    assert refused.status == 402 and refused.error["code"] == "INSUFFICIENT_FUNDS", refused.body
    shown = money(api, buyer)
    assert (shown["earnings"], shown["earnings_available"]) == ("50.00", "0.00")
    assert not stripe_emulator.objects("transfer") and books(api)["balanced"] is True


def test_auto_withdraw_is_set_on_the_payout_account(api, buyer):
    refused = api.put("/billing/payout-account", {"auto_withdraw": True}, token=buyer["token"])
    assert refused.status == 409 and refused.error["code"] == "PAYOUT_ACCOUNT_REQUIRED"
    assert api.post("/billing/payout-account", {"auto_withdraw": True}, token=buyer["token"]).data["auto_withdraw"]
    assert api.put("/billing/payout-account", {"auto_withdraw": False}, token=buyer["token"]).data[
        "auto_withdraw"] is False
    assert api.get("/billing/payout-account", token=buyer["token"]).data["auto_withdraw"] is False
    assert api.put("/billing/payout-account", {"auto_withdraw": "yes"}, token=buyer["token"]).status == 400


def test_the_weekly_job_withdraws_everything_available_for_auto_withdraw_buyers_only(api, client, seller, clock,
                                                                                    stripe_emulator):
    rich, poor, manual = api.register("buyer"), api.register("buyer"), api.register("buyer")
    for user in (rich, poor, manual):
        onboarded(api, user)
    for user in (rich, poor):
        assert api.put("/billing/payout-account", {"auto_withdraw": True}, token=user["token"]).status == 200
    earn(rich, seller, 41_2345, clock)
    earn(rich, seller, 60_0000, clock, days_ago=2)  # pending: stays
    earn(poor, seller, 24_9999, clock)
    earn(manual, seller, 100_0000, clock)

    def run_job():
        return client.lambda_.invoke("auto_withdraw", client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])).payload

    assert run_job() == {"withdrawn": 1, "skipped": 1, "failed": 0}
    [made] = stripe_emulator.objects("transfer")
    assert (made["amount"], made["metadata"]["user_id"]) == (4123, rich["user"]["id"])  # whole cents
    [shown] = api.get("/billing/withdrawals", token=rich["token"]).data
    assert (shown["amount"], shown["status"], shown["automatic"]) == ("41.23", "paid", True)
    assert api.get("/billing/withdrawals", token=poor["token"]).data == []
    assert api.get("/billing/withdrawals", token=manual["token"]).data == []
    assert run_job() == {"withdrawn": 0, "skipped": 2, "failed": 0}  # the same week: nothing more
    assert len(stripe_emulator.objects("transfer")) == 1
    assert books(api)["balanced"] is True
    assert int(AccountModel.get(rich["user"]["id"]).earnings) == 60_0045


def test_the_same_withdrawal_sent_twice_at_once_is_one(api, buyer, seller, clock, stripe_emulator):
    onboarded(api, buyer)
    earn(buyer, seller, 100_0000, clock)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: withdraw(api, buyer, "30.00", key="same"), range(4)))
    assert {a.status for a in answers} == {201}, [a.body for a in answers]
    assert len({a.data["id"] for a in answers}) == 1
    assert len(stripe_emulator.objects("transfer")) == 1
    assert money(api, buyer)["earnings"] == "70.00" and books(api)["balanced"] is True


def test_after_a_dispute_takes_withdrawn_earnings_back_withdrawals_wait_until_they_are_positive(api, buyer, seller,
                                                                                             clock):
    onboarded(api, buyer)
    earn(buyer, seller, 100_0000, clock)
    assert withdraw(api, buyer, "100.00").status == 201
    # An accepted dispute reverses a withdrawn call's payout (services/disputes.py posts it past zero).
    post(transfer("dispute_reversal:c1", "dispute_reversal", "Call c1: dispute accepted",
                  debit=(buyer["user"]["id"], EARNINGS), credit=(seller["user"]["id"], BALANCE), amount=40_0000),
         clock(), enforce_limits=False)
    shown = money(api, buyer)
    assert (shown["earnings"], shown["earnings_available"]) == ("-40.00", "-40.00")
    refused = withdraw(api, buyer, "25.00")
    assert refused.status == 402 and refused.error["code"] == "INSUFFICIENT_FUNDS"
    earn(buyer, seller, 60_0000, clock)  # future earnings pay it back first
    assert money(api, buyer)["earnings_available"] == "20.00"
    assert withdraw(api, buyer, "25.00").status == 402
    earn(buyer, seller, 10_0000, clock)
    assert withdraw(api, buyer, "30.00").status == 201

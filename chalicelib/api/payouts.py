"""Withdrawing earnings through Stripe Connect: a buyer's payout account and its withdrawals."""
from chalicelib.api.http import BUYERS, BUYERS_ONLY, Api, Call
from chalicelib.domain.money import to_minor
from chalicelib.schemas import models
from chalicelib.services import payouts

schemas = models("payouts", "common")  # imported on first use, not at cold start

api = Api(__name__, tag="billing")


@api.route("/billing/payout-account", "POST", summary="Connect a payout account (a Stripe Connect Express "
           "account; the same one if it exists) and answer its onboarding link", roles=BUYERS_ONLY,
           body=schemas.PayoutAccountRequest, response=schemas.PayoutAccountOut, status=201)
def connect(call: Call):
    return payouts.connect(call.principal, call.body.auto_withdraw)


@api.route("/billing/payout-account", "GET", summary="The caller's payout account: whether Stripe pays out to it "
           "yet, and its onboarding link until it does", roles=BUYERS_ONLY, response=schemas.PayoutAccountOut)
def payout_account(call: Call):
    return payouts.payout_account(call.principal)


@api.route("/billing/payout-account", "PUT", summary="Turn the weekly auto-withdrawal on or off",
           roles=BUYERS_ONLY, body=schemas.AutoWithdrawRequest, response=schemas.PayoutAccountOut, errors=(409,))
def set_auto_withdraw(call: Call):
    return payouts.set_auto_withdraw(call.principal, call.body.auto_withdraw)


@api.route("/billing/withdrawals", "POST", summary="Withdraw available earnings to the payout account (a Stripe "
           "transfer; Idempotency-Key header)", roles=BUYERS_ONLY, body=schemas.WithdrawalRequest,
           headers=schemas.WithdrawalHeaders, response=schemas.WithdrawalOut, status=201, errors=(402, 409))
def withdraw(call: Call):
    return payouts.withdraw(call.principal, to_minor(call.body.amount), call.headers.idempotency_key)


@api.route("/billing/withdrawals", "GET", summary="The caller's withdrawals, newest first (an admin's: a user's, "
           "named by ?user_id=)", roles=BUYERS, query=schemas.OwnerPageQuery, response=schemas.WithdrawalOut,
           paginated=True, errors=(403, 404))
def withdrawals(call: Call):
    q = call.query
    return payouts.withdrawals(call.principal, q.page, q.limit, q.next_token, q.user_id)

"""Funding a balance by card through Stripe: cards, top-ups, auto-recharge; and Stripe's webhook."""
from chalicelib.api.http import PUBLIC, Api, Call, Reply
from chalicelib.domain.money import to_minor
from chalicelib.schemas import models
from chalicelib.services import funding

schemas = models("funding", "common")  # imported on first use, not at cold start

api = Api(__name__, tag="billing")


def _card(card) -> dict:
    return {"payment_method_id": card.payment_method_id, "brand": card.brand, "last4": card.last4,
            "exp_month": card.exp_month, "exp_year": card.exp_year}


@api.route("/billing/payment-methods", "POST", summary="Attach a card (a Stripe PaymentMethod) to the caller",
           body=schemas.AddPaymentMethodRequest, response=schemas.PaymentMethodOut, status=201, errors=(402, 404, 409))
def add_payment_method(call: Call):
    return _card(funding.add_card(call.principal, call.body.payment_method))


@api.route("/billing/payment-methods", "GET", summary="The caller's cards", response=list[schemas.PaymentMethodOut])
def payment_methods(call: Call):
    return [_card(card) for card in funding.cards(call.principal)]


@api.route("/billing/payment-methods/{payment_method_id}", "DELETE", summary="Detach one of the caller's cards",
           status=204, errors=(404,))
def remove_payment_method(call: Call, payment_method_id: str):
    funding.remove_card(call.principal, payment_method_id)
    return Reply(status=204)


@api.route("/billing/top-ups", "POST", summary="Top up the balance by card (Idempotency-Key header); credited "
           "when Stripe says the money is there", body=schemas.TopUpRequest, headers=schemas.TopUpHeaders,
           response=schemas.TopUpOut, status=201, errors=(402, 404, 409))
def top_up(call: Call):
    b = call.body
    return funding.top_up(call.principal, to_minor(b.amount), b.payment_method_id, call.headers.idempotency_key)


@api.route("/billing/top-ups", "GET", summary="The caller's top-ups, newest first (an admin's: a user's, named by "
           "?user_id=)", query=schemas.OwnerPageQuery, response=schemas.TopUpOut, paginated=True, errors=(403, 404))
def top_ups(call: Call):
    q = call.query
    return funding.top_ups(call.principal, q.page, q.limit, q.next_token, q.user_id)


def _auto_recharge(profile) -> dict:
    return {"auto_recharge_enabled": bool(profile.auto_recharge_enabled), "recharge_below": profile.recharge_below,
            "recharge_amount": profile.recharge_amount,
            "recharge_payment_method_id": profile.recharge_payment_method_id,
            "in_flight": bool(profile.recharge_in_flight), "recharge_failure": profile.recharge_failure,
            "owed": funding.still_owed(profile.user_id)}


@api.route("/billing/auto-recharge", "GET", summary="The caller's auto-recharge", response=schemas.AutoRechargeOut)
def auto_recharge(call: Call):
    return _auto_recharge(funding.auto_recharge(call.principal))


@api.route("/billing/auto-recharge", "PUT", summary="Set auto-recharge: a top-up of `amount` when a posting takes "
           "the balance under `below`", body=schemas.AutoRechargeRequest, response=schemas.AutoRechargeOut,
           errors=(404,))
def set_auto_recharge(call: Call):
    b = call.body
    return _auto_recharge(funding.set_auto_recharge(call.principal, b.enabled, to_minor(b.below), to_minor(b.amount),
                                                    b.payment_method_id))


@api.route("/webhooks/stripe", "POST", summary="Stripe: an event (signed: Stripe-Signature, 5 minutes' tolerance)",
           roles=PUBLIC, body=schemas.StripeEvent, response=schemas.WebhookReceived)
def stripe_webhook(call: Call):
    return funding.stripe_event(call.request.raw_body, call.header("stripe-signature"))

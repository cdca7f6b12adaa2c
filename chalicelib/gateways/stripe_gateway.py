"""Every Stripe request the product makes. `stripe` (~0.6 s to import) is imported here only, and only when
used; one StripeClient per process, configured by settings: STRIPE_API_BASE (the local emulator under
`make run`, else api.stripe.com) and the secret key from the environment or SSM (STRIPE_SECRET_KEY).

Amounts cross this seam in the product's minor units (1/10,000 USD) and go to Stripe in cents. Stripe's
card errors become CardDeclined (a 402 CARD_DECLINED naming the decline code); anything else Stripe says no
to is ours to fix (502), or Stripe being away (503).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain.errors import Conflict, DomainError, FieldProblem, NotFound, PaymentRequired
from chalicelib.secret_store import secret

MINOR_PER_CENT = 100
WEBHOOK_TOLERANCE_SECONDS = 300


class PaymentProviderError(DomainError):
    type, status, default_code = "INTERNAL_ERROR", 502, "PAYMENT_PROVIDER_ERROR"


class PaymentProviderUnavailable(PaymentProviderError):
    status, default_code = 503, "PAYMENT_PROVIDER_UNAVAILABLE"


class CardDeclined(PaymentRequired):
    """The card was declined (or needs its holder, off session): nothing was charged."""

    default_code = "CARD_DECLINED"

    def __init__(self, decline_code: str, message: str, payment_intent: dict | None = None):
        super().__init__(f"The card was declined: {message}", details=[FieldProblem("payment_method_id",
                                                                                    decline_code, message)])
        self.decline_code = decline_code
        self.payment_intent = payment_intent


class SignatureRefused(DomainError):
    type, status, default_code = "VALIDATION_ERROR", 400, "INVALID_SIGNATURE"


@functools.cache
def client() -> Any:
    import stripe

    settings = get_settings()
    key = secret("STRIPE_SECRET_KEY")
    if not key:
        raise PaymentProviderError("Payments are not configured", code="PAYMENTS_NOT_CONFIGURED")
    base = {"api": settings.stripe_api_base.rstrip("/")} if settings.stripe_api_base else None
    http = stripe.RequestsClient(timeout=settings.stripe_timeout_seconds)
    # Network failures of a request are retried by the SDK with the same idempotency key.
    return stripe.StripeClient(key, base_addresses=base, http_client=http, max_network_retries=2)


def reset() -> None:
    client.cache_clear()


def _call(operation):
    import stripe

    try:
        return operation()
    except stripe.CardError as error:
        body = error.error
        decline = getattr(body, "decline_code", None) or getattr(body, "code", None) or "card_declined"
        intent = getattr(body, "payment_intent", None)
        raise CardDeclined(decline, _plain(getattr(body, "message", None)) or "declined",
                           _plain_dict(intent)) from None
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise PaymentProviderUnavailable("The payment provider is unavailable; try again shortly") from error
    except stripe.InvalidRequestError as error:
        if error.http_status == 404:  # an id Stripe does not know (a PaymentMethod sent by a client)
            raise NotFound("Not found at the payment provider", code="PAYMENT_METHOD_NOT_FOUND") from None
        if error.param == "payment_method":  # attached to another customer, of another kind...
            raise Conflict("This payment method cannot be used here", code="PAYMENT_METHOD_UNUSABLE") from None
        raise PaymentProviderError(f"Stripe refused the request ({error.code or error.http_status})",
                                   code="PAYMENT_PROVIDER_ERROR") from error
    except stripe.StripeError as error:
        if (error.http_status or 0) >= 500:
            raise PaymentProviderUnavailable("The payment provider is unavailable; try again shortly") from error
        raise PaymentProviderError(f"Stripe refused the request ({error.code or error.http_status})",
                                   code="PAYMENT_PROVIDER_ERROR") from error


def _plain(message: Any) -> str | None:
    return str(message)[:200] if message else None


def _plain_dict(obj: Any) -> dict | None:
    if obj is None:
        return None
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _dict(obj: Any) -> dict:
    return obj.to_dict()


# --- customers and payment methods -----------------------------------------------------------------

def create_customer(user_id: str, email: str | None) -> str:
    """A customer for a user; the same one however often it is asked for (idempotency key per user)."""
    customer = _call(lambda: client().v1.customers.create(
        params={"email": email, "metadata": {"user_id": user_id}} if email else {"metadata": {"user_id": user_id}},
        options={"idempotency_key": f"customer-{user_id}"}))
    return customer.id


@dataclass(frozen=True)
class Card:
    payment_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    customer: str | None


def _card(method: Any) -> Card:
    card = method.card
    return Card(method.id, card.brand, card.last4, int(card.exp_month), int(card.exp_year), method.customer)


def attach(payment_method: str, customer: str) -> Card:
    return _card(_call(lambda: client().v1.payment_methods.attach(payment_method, params={"customer": customer})))


def detach(payment_method_id: str) -> None:
    _call(lambda: client().v1.payment_methods.detach(payment_method_id))


def payment_method(payment_method_id: str) -> Card | None:
    try:
        return _card(_call(lambda: client().v1.payment_methods.retrieve(payment_method_id)))
    except NotFound:
        return None


def cards(customer: str) -> list[Card]:
    found = _call(lambda: client().v1.payment_methods.list(params={"customer": customer, "type": "card",
                                                                     "limit": 100}))
    return [_card(m) for m in found.data]


# --- payments --------------------------------------------------------------------------------------

def charge(*, amount: int, customer: str, payment_method_id: str, idempotency_key: str, metadata: dict[str, str],
           off_session: bool = False) -> dict:
    """Create and confirm a PaymentIntent of `amount` (minor units); the intent (as a dict). The idempotency
    key makes a retry the same PaymentIntent at Stripe."""
    params: dict[str, Any] = {"amount": amount // MINOR_PER_CENT, "currency": "usd", "customer": customer,
                              "payment_method": payment_method_id, "confirm": True,
                              "payment_method_types": ["card"], "metadata": metadata,
                              "description": "Call exchange balance top-up"}
    if off_session:
        params["off_session"] = True
    return _dict(_call(lambda: client().v1.payment_intents.create(
        params=params, options={"idempotency_key": idempotency_key})))


def payment_intent(payment_intent_id: str) -> dict:
    """A PaymentIntent with its latest charge's balance transaction (Stripe's fee) expanded."""
    return _dict(_call(lambda: client().v1.payment_intents.retrieve(
        payment_intent_id, params={"expand": ["latest_charge.balance_transaction"]})))


def fee_of(intent: dict) -> int:
    """Stripe's fee for a succeeded intent's charge (minor units), from its balance transaction."""
    charge_ = intent.get("latest_charge")
    if isinstance(charge_, str) or not isinstance((charge_ or {}).get("balance_transaction"), dict):
        intent = payment_intent(intent["id"])
        charge_ = intent["latest_charge"]
    return int(charge_["balance_transaction"]["fee"]) * MINOR_PER_CENT


def construct_event(payload: bytes | str, signature: str | None) -> dict:
    """A webhook's event, once its Stripe-Signature is checked (5 minutes' tolerance); SignatureRefused if not."""
    import stripe

    webhook_secret = secret("STRIPE_WEBHOOK_SECRET")
    if not webhook_secret:
        raise SignatureRefused("Stripe webhooks are not configured", code="WEBHOOK_NOT_CONFIGURED")
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", webhook_secret,
                                               tolerance=WEBHOOK_TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError):
        raise SignatureRefused("The Stripe-Signature does not match this payload, or is too old") from None
    return event.to_dict()


# --- Connect: payout accounts and transfers --------------------------------------------------------

class TransferRefused(DomainError):
    """Stripe would not make a transfer (the destination cannot receive it): no money moved."""

    type, status, default_code = "PAYMENT_REQUIRED", 402, "TRANSFER_REFUSED"

    def __init__(self, reason: str, message: str):
        super().__init__(f"The payment provider refused the transfer: {message}")
        self.reason = reason


@dataclass(frozen=True)
class ConnectedAccount:
    account_id: str
    payouts_enabled: bool


def create_connected_account(user_id: str, email: str | None) -> str:
    """An Express account to pay a user out to; one per user however often it is asked for."""
    params: dict[str, Any] = {"type": "express", "capabilities": {"transfers": {"requested": True}},
                              "metadata": {"user_id": user_id}}
    if email:
        params["email"] = email
    return _call(lambda: client().v1.accounts.create(
        params=params, options={"idempotency_key": f"connected-account-{user_id}"})).id


def connected_account(account_id: str) -> ConnectedAccount:
    account = _call(lambda: client().v1.accounts.retrieve(account_id))
    return ConnectedAccount(account.id, bool(account.payouts_enabled))


def onboarding_link(account_id: str, return_url: str, refresh_url: str) -> str:
    """A fresh onboarding link (Stripe's live a few minutes and are made when the user is to open one)."""
    return _call(lambda: client().v1.account_links.create(params={
        "account": account_id, "type": "account_onboarding", "return_url": return_url,
        "refresh_url": refresh_url})).url


def transfer(*, amount: int, destination: str, group: str, metadata: dict[str, str]) -> dict:
    """Move `amount` (minor units) from the platform's Stripe balance to a connected account; the transfer (as
    a dict). `group` (a withdrawal's) is its idempotency key and transfer_group: a retry is the same transfer (and
    found_transfer finds one made longer ago than Stripe keeps keys, a day). A destination that cannot receive it
    is TransferRefused."""
    import stripe

    def send():
        try:
            return client().v1.transfers.create(params={
                "amount": amount // MINOR_PER_CENT, "currency": "usd", "destination": destination,
                "metadata": metadata, "transfer_group": group, "description": "Call exchange earnings withdrawal"},
                options={"idempotency_key": group})
        except stripe.InvalidRequestError as error:
            if (error.http_status or 0) >= 500 or error.http_status == 409:  # 409: the same key in flight
                raise
            raise TransferRefused(error.code or "transfer_refused",
                                  _plain(getattr(error, "user_message", None) or str(error)) or "refused") from None

    return _dict(_call(send))


def found_transfer(group: str) -> dict | None:
    """The transfer made for `group` (a withdrawal), if Stripe has one."""
    made = _call(lambda: client().v1.transfers.list(params={"transfer_group": group, "limit": 1})).data
    return _dict(made[0]) if made else None

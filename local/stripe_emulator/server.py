"""StripeEmulator: the account's state, Stripe's resources over a stdlib HTTP server, and webhook delivery."""
from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import json
import os
import queue
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.loopback import EmulatorHandler, LoopbackServer, serve_until_interrupted

DEFAULT_SECRET_KEY = "sk_test_emulator"
API_VERSION = "2025-01-27.acacia"
DISPUTE_FEE = 1500  # cents, Stripe's chargeback fee
ACCOUNT_LINK_SECONDS = 300  # an account link lives 5 minutes, as at Stripe
ONBOARDING_PATH = "/connect/onboarding/"  # not Stripe's API: where an account link points (opened with GET)

# Stripe's test PaymentMethods: (brand, last4, what happens when attached / charged)
TEST_CARDS = {
    "pm_card_visa": ("visa", "4242", None),
    "pm_card_mastercard": ("mastercard", "4444", None),
    "pm_card_chargeDeclined": ("visa", "0002", "generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995", "insufficient_funds"),
    "pm_card_authenticationRequired": ("visa", "3184", "authentication_required"),
}
DECLINE_MESSAGES = {"generic_decline": "Your card was declined.",
                    "insufficient_funds": "Your card has insufficient funds.",
                    "authentication_required": "Your card was declined. This transaction requires authentication."}


class StripeError(Exception):
    def __init__(self, status: int, error: dict[str, Any]):
        super().__init__(error.get("message"))
        self.status, self.error = status, error


def invalid(message: str, param: str | None = None, status: int = 400, code: str | None = None) -> StripeError:
    error = {"type": "invalid_request_error", "message": message}
    if param:
        error["param"] = param
    if code:
        error["code"] = code
    return StripeError(status, error)


def missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    return invalid(f"No such {kind}: '{object_id}'", param, 404, "resource_missing")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def fee_of(amount: int) -> int:
    """Stripe's standard card fee, in cents: 2.9 % + 0.30 (half up)."""
    return (amount * 29 + 500) // 1000 + 30


def decode_form(raw: str) -> dict[str, Any]:
    """Stripe's form encoding as the SDK writes it: `a[b]=1`, `a[0]=x` (lists), nested to any depth."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = result
        for part, following in zip(parts, parts[1:]):
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(result)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header of `payload`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class StripeEmulator(LoopbackServer):
    """`with StripeEmulator() as stripe: ...`; the SDK is pointed at `stripe.url` with `stripe.secret_key`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, secret_key: str | None = None,
                 webhook_secret: str | None = None, webhook_url: str | None = None) -> None:
        super().__init__(host, port)
        self.secret_key = secret_key or DEFAULT_SECRET_KEY
        self.webhook_secret = webhook_secret or "whsec_" + secrets.token_hex(16)
        self.webhook_url = webhook_url  # where events go besides the webhook endpoints made through the API
        self.lock = threading.Lock()  # the server answers on many threads; state changes one at a time
        self.version = 0  # moves with every change (make run's snapshots)
        self._objects: dict[str, dict[str, Any]] = {}
        self._idempotent: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of each API request, for tests
        self.deliveries: list[tuple[str, int | None]] = []  # (event id, status answered) of each delivery
        self._outgoing: queue.Queue = queue.Queue()

    # lifecycle (LoopbackServer): the webhook deliveries run beside the server

    thread_name = "stripe-emulator"

    @property
    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    def background(self) -> list[threading.Thread]:
        return [threading.Thread(target=self._deliver_forever, name="stripe-webhooks", daemon=True)]

    def before_stop(self) -> None:
        self._outgoing.put(None)

    # for tests and make run

    def reset(self) -> None:
        with self.lock:
            self._objects.clear()
            self._idempotent.clear()
            self.events.clear()
            self.requests.clear()
            self.deliveries.clear()
            self.version += 1

    def objects(self, kind: str) -> list[dict[str, Any]]:
        """Every object of a kind ("payment_intent", "customer" ...), oldest first."""
        with self.lock:
            return [copy.deepcopy(o) for o in self._objects.values() if o["object"] == kind]

    def event(self, event_type: str, object_id: str | None = None) -> dict[str, Any]:
        """The last event of a type (about an object)."""
        with self.lock:
            found = [e for e in self.events if e["type"] == event_type
                     and (object_id is None or e["data"]["object"]["id"] == object_id)]
        if not found:
            raise LookupError(f"no {event_type} event")
        return found[-1]

    def signed(self, event: dict[str, Any], timestamp: int | None = None) -> tuple[str, str]:
        """An event as delivered: its payload and Stripe-Signature header."""
        payload = json.dumps(event, indent=2)
        return payload, sign(payload, self.webhook_secret, timestamp)

    def export_account(self) -> dict[str, Any]:
        """Every object and event, as plain data; call with `lock` held."""
        return copy.deepcopy({"objects": self._objects, "events": self.events, "idempotent": self._idempotent})

    def restore_account(self, account: dict[str, Any]) -> None:
        with self.lock:
            self._objects = copy.deepcopy(account.get("objects", {}))
            self.events = copy.deepcopy(account.get("events", []))
            self._idempotent = {k: tuple(v) for k, v in account.get("idempotent", {}).items()}
            self.version += 1

    # the API

    def handle(self, method: str, path: str, params: dict[str, Any], authorization: str | None,
               idempotency_key: str | None) -> tuple[int, dict[str, Any], bool]:
        """(status, body, replayed) of one API request."""
        scheme, _, key = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip(), self.secret_key):
            return 401, {"error": {"type": "invalid_request_error",
                                   "message": "Invalid API Key provided: " + (key[:8] + "*" * 4 if key else "none")}}, False
        with self.lock:
            self.requests.append((method, path))
            remembered_key = f"{idempotency_key}" if method == "POST" and idempotency_key else None
            if remembered_key is not None and remembered_key in self._idempotent:
                fingerprint, status, body = self._idempotent[remembered_key]
                if fingerprint != json.dumps([path, params], sort_keys=True):
                    return 400, {"error": {"type": "idempotency_error", "message": (
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        f"used with. Try using a key other than '{idempotency_key}' if you meant to execute "
                        "another request.")}}, False
                return status, copy.deepcopy(body), True
            try:
                status, body = 200, self._route(method, path, params)
            except StripeError as error:
                status, body = error.status, {"error": error.error}
            if remembered_key is not None:
                self._idempotent[remembered_key] = (json.dumps([path, params], sort_keys=True), status,
                                                    copy.deepcopy(body))
            if method != "GET":
                self.version += 1
            return status, body, False

    def _route(self, method: str, path: str, p: dict[str, Any]) -> dict[str, Any]:
        parts = path.strip("/").split("/")[1:]  # after "v1"
        match (method, parts):
            case ("POST", ["customers"]):
                return self._create_customer(p)
            case ("GET", ["customers", cid]):
                return self._get(cid, "customer")
            case ("POST", ["payment_methods", pm, "attach"]):
                return self._attach(pm, p)
            case ("POST", ["payment_methods", pm, "detach"]):
                return self._detach(pm)
            case ("GET", ["payment_methods", pm]):
                return self._get(pm, "payment_method")
            case ("GET", ["payment_methods"]) | ("GET", ["customers", _, "payment_methods"]):
                customer = parts[1] if len(parts) == 3 else p.get("customer")
                found = [o for o in self._objects.values()
                         if o["object"] == "payment_method" and o["customer"] == customer and customer]
                return self._list(found, path)
            case ("POST", ["payment_intents"]):
                return self._create_payment_intent(p)
            case ("POST", ["payment_intents", pi, "confirm"]):
                return self._expand(self._confirm(self._get(pi, "payment_intent", raw=True), p), p)
            case ("GET", ["payment_intents", pi]):
                return self._expand(self._get(pi, "payment_intent", raw=True), p)
            case ("GET", ["charges", ch]):
                return self._expand(self._get(ch, "charge", raw=True), p)
            case ("GET", ["balance_transactions", txn]):
                return self._get(txn, "balance_transaction")
            case ("POST", ["refunds"]):
                return self._refund(p)
            case ("GET", ["refunds", re_id]):
                return self._get(re_id, "refund")
            case ("GET", ["disputes", dp]):
                return self._get(dp, "dispute")
            case ("POST", ["webhook_endpoints"]):
                if not p.get("url"):
                    raise invalid("Missing required param: url.", "url")
                return self._save({"id": new_id("we"), "object": "webhook_endpoint", "url": p["url"],
                                   "enabled_events": p.get("enabled_events") or ["*"], "status": "enabled",
                                   "secret": self.webhook_secret, "created": int(time.time())})
            case ("POST", ["accounts"]):
                return self._create_account(p)
            case ("GET", ["accounts", acct]):
                return self._get(acct, "account")
            case ("POST", ["account_links"]):
                return self._create_account_link(p)
            case ("POST", ["transfers"]):
                return self._create_transfer(p)
            case ("GET", ["transfers"]):
                found = [o for o in self._objects.values() if o["object"] == "transfer"
                         and all(o.get(name) == p[name] for name in ("destination", "transfer_group") if p.get(name))]
                return self._list(found, path)
            case ("GET", ["transfers", tr]):
                return self._get(tr, "transfer")
            case ("POST", ["transfers", tr, "reversals"]):
                return self._reverse_transfer(self._get(tr, "transfer", raw=True), p)
            case ("GET", ["events", evt]):
                found = [e for e in self.events if e["id"] == evt]
                if not found:
                    raise missing("event", evt)
                return copy.deepcopy(found[0])
        raise invalid(f"Unrecognized request URL ({method}: {path}).", status=404)

    # objects

    def _save(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj.setdefault("livemode", False)
        self._objects[obj["id"]] = obj
        return copy.deepcopy(obj)

    def _get(self, object_id: str, kind: str, raw: bool = False) -> dict[str, Any]:
        obj = self._objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise missing(kind, object_id)
        return obj if raw else copy.deepcopy(obj)

    def _list(self, items: list[dict[str, Any]], url: str) -> dict[str, Any]:
        return {"object": "list", "data": [copy.deepcopy(i) for i in reversed(items)], "has_more": False,
                "url": url}

    def _expand(self, obj: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        """`expand[]` of id fields, dotted paths included (latest_charge.balance_transaction)."""
        result = copy.deepcopy(obj)
        for path in p.get("expand") or []:
            node, names = result, path.split(".")
            for name in names:
                value = node.get(name) if isinstance(node, dict) else None
                if isinstance(value, str) and value in self._objects:
                    node[name] = copy.deepcopy(self._objects[value])
                node = node.get(name) if isinstance(node, dict) else None
        return result

    def _create_customer(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._save({"id": new_id("cus"), "object": "customer", "email": p.get("email"),
                           "name": p.get("name"), "metadata": p.get("metadata") or {},
                           "created": int(time.time())})

    def _payment_method(self, pm: str) -> dict[str, Any]:
        """A PaymentMethod by id; a test id makes a new one (as at Stripe)."""
        if pm in TEST_CARDS:
            brand, last4, _ = TEST_CARDS[pm]
            made = self._save({"id": new_id("pm"), "object": "payment_method", "type": "card", "customer": None,
                               "card": {"brand": brand, "last4": last4, "exp_month": 12,
                                        "exp_year": time.gmtime().tm_year + 3, "country": "US", "funding": "credit"},
                               "billing_details": {}, "metadata": {}, "created": int(time.time()),
                               "_behaviour": TEST_CARDS[pm][2]})
            return self._objects[made["id"]]
        return self._get(pm, "payment_method", raw=True)

    def _attach(self, pm: str, p: dict[str, Any]) -> dict[str, Any]:
        customer = p.get("customer")
        if not customer:
            raise invalid("Missing required param: customer.", "customer")
        self._get(customer, "customer")
        if TEST_CARDS.get(pm, (None, None, None))[2] == "generic_decline":
            raise self._card_error("generic_decline")  # the card is checked when attached
        method = self._payment_method(pm)
        if method["customer"] and method["customer"] != customer:
            raise invalid("The payment method you provided has already been attached to a customer.",
                          "payment_method")
        method["customer"] = customer
        return self._public(method)

    def _detach(self, pm: str) -> dict[str, Any]:
        method = self._get(pm, "payment_method", raw=True)
        if not method["customer"]:
            raise invalid(f"The payment method {pm} is not attached to a customer.", "payment_method")
        method["customer"] = None
        return self._public(method)

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}

    def _card_error(self, decline_code: str, payment_intent: dict[str, Any] | None = None,
                    method: dict[str, Any] | None = None) -> StripeError:
        code = "authentication_required" if decline_code == "authentication_required" else "card_declined"
        error = {"type": "card_error", "code": code, "decline_code": decline_code,
                 "message": DECLINE_MESSAGES[decline_code], "doc_url": f"https://stripe.com/docs/error-codes/{code}"}
        if payment_intent is not None:
            error["payment_intent"] = self._public(payment_intent)
        if method is not None:
            error["payment_method"] = self._public(method)
        return StripeError(402, error)

    # payments

    def _create_payment_intent(self, p: dict[str, Any]) -> dict[str, Any]:
        try:
            amount = int(p.get("amount", ""))
        except ValueError:
            raise invalid("Missing required param: amount.", "amount") from None
        if amount < 50:
            raise invalid("Amount must be at least $0.50 usd", "amount", code="amount_too_small")
        if not p.get("currency"):
            raise invalid("Missing required param: currency.", "currency")
        if p.get("customer"):
            self._get(p["customer"], "customer")
        pi_id = new_id("pi")
        intent = {"id": pi_id, "object": "payment_intent", "amount": amount, "amount_received": 0,
                  "currency": p["currency"], "customer": p.get("customer"), "payment_method": None,
                  "status": "requires_payment_method", "client_secret": f"{pi_id}_secret_{secrets.token_hex(8)}",
                  "latest_charge": None, "last_payment_error": None, "next_action": None,
                  "metadata": p.get("metadata") or {}, "description": p.get("description"),
                  "payment_method_types": p.get("payment_method_types") or ["card"], "created": int(time.time())}
        self._objects[pi_id] = intent
        if p.get("payment_method"):
            intent["payment_method"] = self._payment_method(p["payment_method"])["id"]
            intent["status"] = "requires_confirmation"
        if str(p.get("confirm")).lower() == "true":
            return self._expand(self._confirm(intent, p), p)
        return self._expand(intent, p)

    def _confirm(self, intent: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        if intent["status"] in ("succeeded", "canceled", "processing"):
            raise invalid(f"This PaymentIntent's status is {intent['status']}; it cannot be confirmed.",
                          code="payment_intent_unexpected_state")
        if p.get("payment_method") and p.get("payment_method") != intent["payment_method"]:
            intent["payment_method"] = self._payment_method(p["payment_method"])["id"]
        if not intent["payment_method"]:
            raise invalid("You cannot confirm this PaymentIntent because it's missing a payment method.",
                          "payment_method", code="payment_intent_unexpected_state")
        method = self._get(intent["payment_method"], "payment_method", raw=True)
        if method["customer"] and intent["customer"] and method["customer"] != intent["customer"]:
            raise invalid("The provided PaymentMethod belongs to another customer.", "payment_method")
        behaviour = method.get("_behaviour")
        off_session = str(p.get("off_session")).lower() == "true"
        if behaviour == "authentication_required" and not off_session:
            intent.update(status="requires_action", next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}})
            self._emit("payment_intent.requires_action", intent)
            return intent
        if behaviour is not None:
            return self._decline(intent, method, behaviour)
        return self._succeed(intent)

    def _decline(self, intent: dict[str, Any], method: dict[str, Any], decline_code: str) -> dict[str, Any]:
        error = self._card_error(decline_code, None, method)
        intent.update(status="requires_payment_method", last_payment_error=error.error, next_action=None)
        self._emit("payment_intent.payment_failed", intent)
        raise self._card_error(decline_code, intent, method)

    def _succeed(self, intent: dict[str, Any]) -> dict[str, Any]:
        amount, now = intent["amount"], int(time.time())
        charge_id, txn_id = new_id("ch"), new_id("txn")
        fee = fee_of(amount)
        self._objects[txn_id] = {"id": txn_id, "object": "balance_transaction", "amount": amount, "fee": fee,
                                 "net": amount - fee, "currency": intent["currency"], "type": "charge",
                                 "source": charge_id, "status": "available", "created": now,
                                 "fee_details": [{"amount": fee, "currency": intent["currency"],
                                                  "type": "stripe_fee", "description": "Stripe processing fees"}]}
        self._objects[charge_id] = {"id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount,
                                    "amount_refunded": 0, "currency": intent["currency"], "paid": True,
                                    "captured": True, "refunded": False, "disputed": False, "status": "succeeded",
                                    "payment_intent": intent["id"], "payment_method": intent["payment_method"],
                                    "customer": intent["customer"], "balance_transaction": txn_id,
                                    "metadata": copy.deepcopy(intent["metadata"]), "livemode": False,
                                    "refunds": {"object": "list", "data": [], "has_more": False}, "created": now}
        intent.update(status="succeeded", amount_received=amount, latest_charge=charge_id, next_action=None,
                      last_payment_error=None)
        self._emit("charge.succeeded", self._objects[charge_id])
        self._emit("payment_intent.succeeded", intent)
        return intent

    def _charge_of(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("charge"):
            return self._get(p["charge"], "charge", raw=True)
        if not p.get("payment_intent"):
            raise invalid("One of the following params should be provided for this request: payment_intent or "
                          "charge.", "payment_intent")
        intent = self._get(p["payment_intent"], "payment_intent", raw=True)
        if not intent["latest_charge"]:
            raise invalid(f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                          "payment_intent", code="charge_not_refundable")
        return self._objects[intent["latest_charge"]]

    def _refund(self, p: dict[str, Any]) -> dict[str, Any]:
        charge = self._charge_of(p)
        left = charge["amount"] - charge["amount_refunded"]
        amount = int(p.get("amount") or left)
        if amount <= 0 or amount > left:
            raise invalid(f"Refund amount (${amount / 100:.2f}) is greater than unrefunded amount on charge "
                          f"(${left / 100:.2f})", "amount", code="amount_too_large")
        refund_id, txn_id, now = new_id("re"), new_id("txn"), int(time.time())
        self._objects[txn_id] = {"id": txn_id, "object": "balance_transaction", "amount": -amount, "fee": 0,
                                 "net": -amount, "currency": charge["currency"], "type": "refund",
                                 "source": refund_id, "status": "available", "created": now, "fee_details": []}
        refund = {"id": refund_id, "object": "refund", "amount": amount, "charge": charge["id"],
                  "payment_intent": charge["payment_intent"], "currency": charge["currency"], "status": "succeeded",
                  "balance_transaction": txn_id, "reason": p.get("reason"), "metadata": {}, "created": now}
        self._objects[refund_id] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, copy.deepcopy(refund))
        self._emit("charge.refunded", charge)
        return copy.deepcopy(refund)

    def _dispute(self, p: dict[str, Any]) -> dict[str, Any]:
        charge = self._charge_of(p)
        if charge["disputed"]:
            raise invalid(f"Charge {charge['id']} is already disputed.", "payment_intent")
        dispute_id, txn_id, now = new_id("dp"), new_id("txn"), int(time.time())
        amount = charge["amount"] - charge["amount_refunded"]
        self._objects[txn_id] = {"id": txn_id, "object": "balance_transaction", "amount": -amount,
                                 "fee": DISPUTE_FEE, "net": -amount - DISPUTE_FEE, "currency": charge["currency"],
                                 "type": "adjustment", "source": dispute_id, "status": "available", "created": now,
                                 "fee_details": [{"amount": DISPUTE_FEE, "currency": charge["currency"],
                                                  "type": "stripe_fee", "description": "Dispute fee"}]}
        self._objects[dispute_id] = {"id": dispute_id, "object": "dispute", "amount": amount,
                                     "charge": charge["id"], "payment_intent": charge["payment_intent"],
                                     "currency": charge["currency"], "reason": "fraudulent",
                                     "status": "needs_response", "balance_transactions": [
                                         copy.deepcopy(self._objects[txn_id])],
                                     "is_charge_refundable": False, "metadata": {}, "livemode": False,
                                     "created": now}
        charge["disputed"] = True
        self._emit("charge.dispute.created", self._objects[dispute_id])
        return copy.deepcopy(self._objects[dispute_id])

    def _authenticate(self, p: dict[str, Any]) -> dict[str, Any]:
        intent = self._get(p.get("payment_intent") or "", "payment_intent", raw=True)
        if intent["status"] != "requires_action":
            raise invalid(f"This PaymentIntent's status is {intent['status']}, not requires_action.",
                          code="payment_intent_unexpected_state")
        return copy.deepcopy(self._succeed(intent))

    # Connect: Express accounts, onboarding links, transfers and their reversals

    def _create_account(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("type") not in ("express", "standard", "custom"):
            raise invalid("Missing required param: type.", "type")
        requested = [name for name, wanted in (p.get("capabilities") or {}).items()
                     if str((wanted or {}).get("requested")).lower() == "true"]
        return self._save({"id": "acct_" + secrets.token_hex(8), "object": "account", "type": p["type"],
                           "country": p.get("country") or "US", "email": p.get("email"),
                           "default_currency": "usd", "details_submitted": False, "charges_enabled": False,
                           "payouts_enabled": False, "capabilities": {name: "inactive" for name in requested},
                           "requirements": {"currently_due": ["external_account", "tos_acceptance.date"],
                                            "disabled_reason": "requirements.past_due"},
                           "metadata": p.get("metadata") or {}, "created": int(time.time())})

    def _create_account_link(self, p: dict[str, Any]) -> dict[str, Any]:
        for name in ("account", "type"):
            if not p.get(name):
                raise invalid(f"Missing required param: {name}.", name)
        if p["type"] not in ("account_onboarding", "account_update"):
            raise invalid(f"Invalid type: {p['type']}", "type")
        account = self._get(p["account"], "account")
        link_id, now = secrets.token_urlsafe(16), int(time.time())
        self._objects[f"link_{link_id}"] = {"id": f"link_{link_id}", "object": "_account_link",
                                            "account": account["id"], "expires_at": now + ACCOUNT_LINK_SECONDS,
                                            "return_url": p.get("return_url"), "refresh_url": p.get("refresh_url")}
        return {"object": "account_link", "created": now, "expires_at": now + ACCOUNT_LINK_SECONDS,
                "url": f"{self.url}{ONBOARDING_PATH}{link_id}"}

    def open_account_link(self, link_id: str) -> tuple[int, str]:
        """What opening an onboarding link does (GET, no auth, as in a browser): the account's holder fills in
        Stripe's form, so it is onboarded at once (payouts and transfers enabled, `account.updated` sent).
        An unknown or expired link is 410, naming the link's refresh_url (Stripe redirects there)."""
        with self.lock:
            link = self._objects.get(f"link_{link_id}")
            if link is None or link["expires_at"] < time.time():
                where = (link or {}).get("refresh_url") or ""
                return 410, f"<p>This onboarding link has expired. <a href=\"{where}\">Get a new one</a>.</p>"
            account = self._objects[link["account"]]
            if not account["payouts_enabled"]:
                account.update(details_submitted=True, charges_enabled=True, payouts_enabled=True,
                               capabilities={name: "active" for name in account["capabilities"] or {"transfers": 1}},
                               requirements={"currently_due": [], "disabled_reason": None})
                self._emit("account.updated", account)
                self.version += 1
            return 200, (f"<p>Onboarding complete for {account['id']}. "
                         f"<a href=\"{link.get('return_url') or ''}\">Return to the platform</a>.</p>")

    def _create_transfer(self, p: dict[str, Any]) -> dict[str, Any]:
        try:
            amount = int(p.get("amount", ""))
        except ValueError:
            raise invalid("Missing required param: amount.", "amount") from None
        if amount < 1:
            raise invalid("Invalid positive integer", "amount")
        if not p.get("currency"):
            raise invalid("Missing required param: currency.", "currency")
        destination = self._objects.get(p.get("destination") or "")
        if destination is None or destination["object"] != "account":
            raise invalid(f"No such destination: '{p.get('destination')}'", "destination", code="resource_missing")
        if destination["capabilities"].get("transfers") != "active":
            raise invalid("Your destination account needs to have at least one of the following capabilities "
                          "enabled: transfers, crypto_transfers, legacy_payments", "destination",
                          code="insufficient_capabilities_for_transfer")
        transfer_id, txn_id, now = new_id("tr"), new_id("txn"), int(time.time())
        self._objects[txn_id] = {"id": txn_id, "object": "balance_transaction", "amount": -amount, "fee": 0,
                                 "net": -amount, "currency": p["currency"], "type": "transfer",
                                 "source": transfer_id, "status": "available", "created": now, "fee_details": []}
        transfer = {"id": transfer_id, "object": "transfer", "amount": amount, "amount_reversed": 0,
                    "currency": p["currency"], "destination": destination["id"],
                    "destination_payment": new_id("py"), "balance_transaction": txn_id, "reversed": False,
                    "reversals": {"object": "list", "data": [], "has_more": False, "total_count": 0,
                                  "url": f"/v1/transfers/{transfer_id}/reversals"},
                    "description": p.get("description"), "transfer_group": p.get("transfer_group"),
                    "metadata": p.get("metadata") or {}, "livemode": False, "created": now}
        self._objects[transfer_id] = transfer
        self._emit("transfer.created", transfer)
        return copy.deepcopy(transfer)

    def _reverse_transfer(self, transfer: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        left = transfer["amount"] - transfer["amount_reversed"]
        amount = int(p.get("amount") or left)
        if amount <= 0 or amount > left:
            raise invalid(f"Reversal amount (${amount / 100:.2f}) is greater than the unreversed amount of the "
                          f"transfer (${left / 100:.2f})", "amount")
        reversal_id, txn_id, now = new_id("trr"), new_id("txn"), int(time.time())
        self._objects[txn_id] = {"id": txn_id, "object": "balance_transaction", "amount": amount, "fee": 0,
                                 "net": amount, "currency": transfer["currency"], "type": "transfer_cancel",
                                 "source": reversal_id, "status": "available", "created": now, "fee_details": []}
        reversal = {"id": reversal_id, "object": "transfer_reversal", "amount": amount,
                    "currency": transfer["currency"], "transfer": transfer["id"], "balance_transaction": txn_id,
                    "metadata": p.get("metadata") or {}, "created": now}
        self._objects[reversal_id] = reversal
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        transfer["reversals"]["data"].insert(0, copy.deepcopy(reversal))
        transfer["reversals"]["total_count"] += 1
        self._emit("transfer.reversed", transfer)
        return copy.deepcopy(reversal)

    # events

    def _emit(self, event_type: str, obj: dict[str, Any]) -> None:
        event = {"id": new_id("evt"), "object": "event", "api_version": API_VERSION, "created": int(time.time()),
                 "type": event_type, "data": {"object": self._public(obj)}, "livemode": False,
                 "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None}}
        self.events.append(event)
        self._outgoing.put(event["id"])

    def _endpoints(self, event_type: str) -> list[str]:
        urls = [o["url"] for o in self._objects.values() if o["object"] == "webhook_endpoint"
                and ("*" in o["enabled_events"] or event_type in o["enabled_events"])]
        return ([self.webhook_url] if self.webhook_url else []) + urls

    def _deliver_forever(self) -> None:
        while (event_id := self._outgoing.get()) is not None:
            self.deliver(event_id)

    def deliver(self, event_id: str) -> list[int | None]:
        """Send one event to every endpoint now; the status each answered (None: no answer)."""
        with self.lock:
            found = [copy.deepcopy(e) for e in self.events if e["id"] == event_id]
            urls = self._endpoints(found[0]["type"]) if found else []
        answers = []
        for url in urls:
            payload, signature = self.signed(found[0])
            request = urllib.request.Request(url, data=payload.encode(), method="POST", headers={
                "Content-Type": "application/json; charset=utf-8", "Stripe-Signature": signature,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status: int | None = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                status = None
            answers.append(status)
            with self.lock:
                self.deliveries.append((event_id, status))
        return answers

    def simulate(self, path: str, values: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The simulator's requests (not Stripe's API)."""
        with self.lock:
            try:
                if path == "/simulator/refund":
                    result = self._refund({"payment_intent": values.get("payment_intent")})
                elif path == "/simulator/dispute":
                    result = self._dispute({"payment_intent": values.get("payment_intent")})
                elif path == "/simulator/authenticate":
                    result = self._authenticate(values)
                elif path == "/simulator/fail-transfer":
                    # A transfer the destination cannot keep: reversed in full, as the platform (or Stripe)
                    # reverses one; the product hears `transfer.reversed`.
                    transfer = self._get(values.get("transfer") or "", "transfer", raw=True)
                    self._reverse_transfer(transfer, {})
                    result = self._public(transfer)
                elif path == "/simulator/resend":
                    if not any(e["id"] == values.get("event") for e in self.events):
                        raise missing("event", str(values.get("event")), "event")
                    self._outgoing.put(values["event"])
                    result = {"event": values["event"], "resent": True}
                else:
                    raise invalid(f"Unrecognized request URL (POST: {path}).", status=404)
            except StripeError as error:
                return error.status, {"error": error.error}
            self.version += 1
            return 200, result


class _Handler(EmulatorHandler):
    def answer(self, method: str) -> None:
        emulator: StripeEmulator = self.server.emulator  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        raw = self.body().decode("utf-8", "replace")
        headers: dict[str, str] = {}
        if method == "GET" and url.path.startswith(ONBOARDING_PATH):
            status, page = emulator.open_account_link(url.path[len(ONBOARDING_PATH):])
            self.reply(status, f"<!doctype html><title>Stripe Connect onboarding</title>{page}".encode(),
                       "text/html; charset=utf-8")
            return
        if url.path.startswith("/simulator/"):
            try:
                values = json.loads(raw) if raw else {}
            except ValueError:
                values = None
            if not isinstance(values, dict):
                status, body = 400, {"error": {"type": "invalid_request_error", "message": "Send a JSON object"}}
            else:
                status, body = emulator.simulate(url.path, values)
        else:
            params = decode_form(raw if method == "POST" else url.query)
            status, body, replayed = emulator.handle(method, url.path, params, self.headers.get("Authorization"),
                                                     self.headers.get("Idempotency-Key"))
            if replayed:
                headers["Idempotent-Replayed"] = "true"
            if self.headers.get("Idempotency-Key"):
                headers["Idempotency-Key"] = self.headers["Idempotency-Key"]
        self.reply(status, json.dumps(body).encode(), "application/json",
                   {"Request-Id": new_id("req"), "Stripe-Version": API_VERSION, **headers})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local emulator of Stripe's API (payments).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("STRIPE_EMULATOR_PORT") or 0))
    parser.add_argument("--webhook-url", default=None, help="where events are delivered")
    args = parser.parse_args(argv)
    emulator = StripeEmulator(args.host, args.port, os.environ.get("STRIPE_SECRET_KEY"),
                              os.environ.get("STRIPE_WEBHOOK_SECRET"), args.webhook_url).start()
    print(emulator.url, f"(secret key {emulator.secret_key}, webhook secret {emulator.webhook_secret})", flush=True)
    return serve_until_interrupted(emulator)

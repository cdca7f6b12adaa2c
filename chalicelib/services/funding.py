"""Money in by card, through Stripe: a user's cards, top-ups, refunds and chargebacks, and auto-recharge.

Stripe is the truth. A top-up's money reaches the balance only once Stripe says it is there: a signed
`payment_intent.succeeded` webhook or the PaymentIntent fetched from Stripe, whichever comes first; the
posting is keyed by the PaymentIntent, so the second changes nothing. A refund or a chargeback takes its
amount back from the balance, even past the credit limit: what passes it is owed (the account's spendable
money, balance + credit limit, is below zero), and no bid or routing hold can pass until a top-up pays it.
"""
from __future__ import annotations

import uuid
from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.domain.errors import Conflict, NotFound, field_error
from chalicelib.domain.ledger import card_reversal, card_top_up
from chalicelib.domain.money import format_money, to_minor
from chalicelib.gateways import stripe_gateway
from chalicelib.gateways.stripe_gateway import MINOR_PER_CENT, Card, CardDeclined
from chalicelib.observability import logger
from chalicelib.persistence import counters
from chalicelib.persistence.ledger import get_account, post
from chalicelib.persistence.pagination import Page, paginate
from chalicelib.persistence.tables import AccountModel, BillingProfileModel, TopUpModel
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.services import notifications, payouts
from chalicelib.services.access import owner_listed

MIN_TOP_UP, MAX_TOP_UP = to_minor("10.00"), to_minor("10000.00")
CREATING, PROCESSING, REQUIRES_ACTION, SUCCEEDED, FAILED = (
    "creating", "processing", "requires_action", "succeeded", "failed")
TOP_UP_STATUSES = (PROCESSING, REQUIRES_ACTION, SUCCEEDED, FAILED)
AUTO_RECHARGE_FAILED = "auto_recharge_failed"
_TOP_UP_IDS = uuid.UUID("4f9b1c3e-8a55-4f8e-9a43-6a0c2e1d7b20")  # namespace: a user's Idempotency-Key → top-up id


# --- amounts ---------------------------------------------------------------------------------------

def check_top_up_amount(amount: int, field: str = "amount") -> None:
    if not MIN_TOP_UP <= amount <= MAX_TOP_UP:
        raise field_error(field, "INVALID_AMOUNT", "A top-up is 10.00 to 10,000.00")
    if amount % MINOR_PER_CENT:
        raise field_error(field, "INVALID_AMOUNT", "A card is charged in whole cents")


# --- the Stripe customer and cards -----------------------------------------------------------------

def _profile(user_id: str) -> BillingProfileModel | None:
    try:
        return BillingProfileModel.get(user_id, consistent_read=True)
    except BillingProfileModel.DoesNotExist:
        return None


def _customer(principal: Principal) -> str:
    """The user's Stripe customer, made on first use (Stripe's idempotency key makes one per user)."""
    profile = _profile(principal.user_id)
    if profile and profile.stripe_customer_id:
        return profile.stripe_customer_id
    customer = stripe_gateway.create_customer(principal.user_id, getattr(principal.user, "email", None))
    with UnitOfWork() as work:
        work.update(BillingProfileModel(principal.user_id),
                    actions=[BillingProfileModel.stripe_customer_id.set(customer),
                             BillingProfileModel.updated_at.set(clock.now())])
    return customer


def add_card(principal: Principal, payment_method: str) -> Card:
    return stripe_gateway.attach(payment_method, _customer(principal))


def cards(principal: Principal) -> list[Card]:
    profile = _profile(principal.user_id)
    if not profile or not profile.stripe_customer_id:
        return []
    return stripe_gateway.cards(profile.stripe_customer_id)


def _own_card(principal: Principal, payment_method_id: str) -> tuple[str, Card]:
    """The user's customer and one of its cards; 404 for anyone else's (or nobody's)."""
    profile = _profile(principal.user_id)
    card = stripe_gateway.payment_method(payment_method_id) if profile and profile.stripe_customer_id else None
    if card is None or card.customer != profile.stripe_customer_id:
        raise NotFound("Payment method not found", code="PAYMENT_METHOD_NOT_FOUND")
    return profile.stripe_customer_id, card


def remove_card(principal: Principal, payment_method_id: str) -> None:
    """Detach a card; auto-recharge that pays with it is turned off (it could only fail now)."""
    _own_card(principal, payment_method_id)
    stripe_gateway.detach(payment_method_id)
    try:
        with UnitOfWork() as work:
            work.update(BillingProfileModel(principal.user_id), actions=[
                BillingProfileModel.auto_recharge_enabled.set(False),
                BillingProfileModel.recharge_failure.set("payment_method_removed"),
                BillingProfileModel.updated_at.set(clock.now())],
                condition=(BillingProfileModel.recharge_payment_method_id == payment_method_id)
                & (BillingProfileModel.auto_recharge_enabled == True))  # noqa: E712 - a condition, not a test
            _mark_account(work, principal.user_id, None)
    except TransactWriteError as error:
        if not failed_items(error):
            raise  # else: auto-recharge does not pay with this card


# --- top-ups ---------------------------------------------------------------------------------------

def top_up(principal: Principal, amount: int, payment_method_id: str, idempotency_key: str) -> TopUpModel:
    """Charge one of the user's cards `amount` (minor units). A retry with the same Idempotency-Key is the same
    top-up and the same PaymentIntent; the same key with another body is 409."""
    check_top_up_amount(amount)
    user_id, now = principal.user_id, clock.now()
    top_up_id = str(uuid.uuid5(_TOP_UP_IDS, f"{user_id}:{idempotency_key}"))
    existing = _top_up(user_id, top_up_id)
    if existing is not None:
        if (int(existing.amount), existing.payment_method_id) != (amount, payment_method_id):
            raise Conflict("This idempotency key was used for a different request", code="IDEMPOTENCY_KEY_REUSED")
        if existing.status != CREATING:
            return _replay(existing)
    customer, _ = _own_card(principal, payment_method_id)
    record = existing or TopUpModel(user_id=user_id, top_up_id=top_up_id, amount=amount,
                                    payment_method_id=payment_method_id, status=CREATING, created_at=now,
                                    updated_at=now)
    if existing is None:
        try:
            with UnitOfWork() as work:
                work.save(record, condition=TopUpModel.top_up_id.does_not_exist())
                counters.add(work, counters.top_ups(user_id))
        except TransactWriteError as error:
            if record not in failed_items(error):
                raise
            # The same request at the same moment: the same PaymentIntent at Stripe (its idempotency key).
    return _charge(record, customer, off_session=False)


def _replay(record: TopUpModel) -> TopUpModel:
    if record.status == FAILED:
        raise CardDeclined(record.decline_code or "card_declined", "declined")
    if record.status in (PROCESSING, REQUIRES_ACTION) and record.payment_intent_id:
        return refresh(record)
    return record


def _top_up(user_id: str, top_up_id: str) -> TopUpModel | None:
    try:
        return TopUpModel.get(user_id, top_up_id, consistent_read=True)
    except TopUpModel.DoesNotExist:
        return None


def _charge(record: TopUpModel, customer: str, *, off_session: bool) -> TopUpModel:
    try:
        intent = stripe_gateway.charge(
            amount=int(record.amount), customer=customer, payment_method_id=record.payment_method_id,
            idempotency_key=f"top-up-{record.top_up_id}", off_session=off_session,
            metadata={"user_id": record.user_id, "top_up_id": record.top_up_id})
    except CardDeclined as declined:
        _record(record, FAILED, payment_intent_id=(declined.payment_intent or {}).get("id"),
                decline_code=declined.decline_code)
        raise
    return settle(record, intent)


def settle(record: TopUpModel, intent: dict) -> TopUpModel:
    """What Stripe says of the top-up's PaymentIntent, recorded; its money credited (once) when it is there."""
    status = intent.get("status")
    if record.status in (SUCCEEDED, FAILED):
        return record
    if status == "succeeded":
        _credit(record.user_id, intent)
        return _record(record, SUCCEEDED, payment_intent_id=intent["id"])
    if status == "requires_action":
        return _record(record, REQUIRES_ACTION, payment_intent_id=intent["id"], client_secret=intent.get("client_secret"))
    if status in ("requires_payment_method", "canceled"):
        error = intent.get("last_payment_error") or {}
        return _record(record, FAILED, payment_intent_id=intent["id"],
                       decline_code=error.get("decline_code") or error.get("code") or "card_declined")
    return _record(record, PROCESSING, payment_intent_id=intent["id"])


def _credit(user_id: str, intent: dict) -> None:
    amount = int(intent.get("amount_received") or intent["amount"]) * MINOR_PER_CENT
    post(card_top_up(intent["id"], user_id, amount, stripe_gateway.fee_of(intent)), clock.now())


def _record(record: TopUpModel, status: str, **fields) -> TopUpModel:
    """A top-up's new status, once (a status already final stays); an automatic one's end frees auto-recharge,
    and its failure turns auto-recharge off and tells the user, in the same commit."""
    now = clock.now()
    if record.status in (SUCCEEDED, FAILED) or record.status == status:
        return record
    changes = {"status": status, "updated_at": now, **{k: v for k, v in fields.items() if v is not None}}
    work = UnitOfWork()
    work.update(record, actions=[getattr(TopUpModel, name).set(value) for name, value in changes.items()],
                condition=TopUpModel.status.is_in(CREATING, PROCESSING, REQUIRES_ACTION))
    work.assign(record, changes)
    if record.automatic and status in (SUCCEEDED, FAILED):
        profile = _profile(record.user_id)
        if profile is not None and profile.recharge_in_flight == record.top_up_id:
            actions = [BillingProfileModel.recharge_in_flight.remove(), BillingProfileModel.updated_at.set(now)]
            if status == FAILED:
                actions += [BillingProfileModel.auto_recharge_enabled.set(False),
                            BillingProfileModel.recharge_failure.set(changes.get("decline_code") or "card_declined")]
                _mark_account(work, record.user_id, None)
            work.update(profile, actions=actions)
        if status == FAILED:
            notifications.send(work, record.user_id, AUTO_RECHARGE_FAILED, "Auto-recharge failed",
                               f"Your card was declined ({changes.get('decline_code') or 'card_declined'}) for an "
                               f"automatic top-up of {format_money(int(record.amount))}. Auto-recharge is now off: "
                               "update your card and turn it on again.", now)
    try:
        work.commit()
    except TransactWriteError as error:
        if record not in failed_items(error):
            raise
        return _top_up(record.user_id, record.top_up_id) or record  # recorded meanwhile (the webhook, a fetch)
    return record


def refresh(record: TopUpModel) -> TopUpModel:
    """A top-up not final yet, as Stripe now says (the fetch that credits it, if the webhook has not)."""
    return settle(record, stripe_gateway.payment_intent(record.payment_intent_id))


def top_ups(principal: Principal, page: int, limit: int, next_token: str | None, user_id: str | None = None) -> Page:
    """The user's top-ups (an admin names whose), newest first; those of the page still waiting on Stripe are
    asked about first."""
    user_id = owner_listed(principal, user_id).user_id

    def run(start_key, count):
        return TopUpModel.by_time.query(user_id, scan_index_forward=False,
                                        last_evaluated_key=start_key, limit=count)

    found = paginate(run, lambda: counters.value(counters.top_ups(user_id)), scope=f"top_ups:{user_id}", page=page,
                     limit=limit, next_token=next_token)
    found.items = [refresh(t) if t.status in (PROCESSING, REQUIRES_ACTION) and t.payment_intent_id else t
                   for t in found.items]
    return found


# --- Stripe's webhooks -----------------------------------------------------------------------------

def stripe_event(payload: bytes | str, signature: str | None) -> dict:
    """A signed event from Stripe, acted on once however often it comes."""
    event = stripe_gateway.construct_event(payload, signature)
    kind, obj = event.get("type"), (event.get("data") or {}).get("object") or {}
    if kind in ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.processing"):
        metadata = obj.get("metadata") or {}
        record = _top_up(metadata.get("user_id", ""), metadata.get("top_up_id", "")) \
            if metadata.get("user_id") and metadata.get("top_up_id") else None
        if record is not None:
            settle(record, obj)
    elif kind == "charge.refunded":
        user_id = (obj.get("metadata") or {}).get("user_id")
        for refund in ((obj.get("refunds") or {}).get("data") or []) if user_id else []:
            _take_back(user_id, f"refund:{refund['id']}", "card_refund", "Card top-up refunded",
                       int(refund["amount"]) * MINOR_PER_CENT, 0, obj.get("payment_intent"))
    elif kind == "charge.dispute.created":
        intent = stripe_gateway.payment_intent(obj["payment_intent"]) if obj.get("payment_intent") else {}
        user_id = (intent.get("metadata") or {}).get("user_id")
        if user_id:
            fee = sum(int(t.get("fee") or 0) for t in obj.get("balance_transactions") or []) * MINOR_PER_CENT
            _take_back(user_id, f"dispute:{obj['id']}", "chargeback", "Card top-up disputed (chargeback)",
                       int(obj["amount"]) * MINOR_PER_CENT, fee, obj.get("payment_intent"))
    elif kind in ("account.updated", "transfer.reversed"):
        payouts.stripe_event(kind, obj)  # Connect: payout accounts and withdrawals
    else:
        logger.info("Stripe event ignored", extra={"type": kind})
    return {"received": True}


def _take_back(user_id: str, key: str, kind: str, description: str, amount: int, fee: int,
               reference: str | None) -> None:
    """Money that left through Stripe, taken from the balance even past the credit limit: what passes it is
    owed (the account's spendable money is below zero, so no bid or hold passes until a top-up pays it)."""
    now = clock.now()
    work = UnitOfWork()
    past_limit = amount - max(0, min(amount, int(get_account(user_id).spendable)))  # for the message only
    if past_limit:
        notifications.send(work, user_id, "balance_owed", "Your account owes money",
                           f"{description}: {format_money(past_limit)} more than your balance and credit limit "
                           "cover is owed. You cannot bid until a top-up pays it back.", now)
    post(card_reversal(key, kind, description, user_id, amount, fee, reference or key), now, work,
         enforce_limits=False)


# --- auto-recharge ---------------------------------------------------------------------------------

def auto_recharge(principal: Principal) -> BillingProfileModel:
    return _profile(principal.user_id) or BillingProfileModel(user_id=principal.user_id)


def still_owed(user_id: str) -> int:
    """What the account is past its credit limit (refunds and chargebacks taken back, or a lowered limit),
    read from the account itself: concurrent chargebacks cannot make two records of it disagree."""
    return max(0, -int(get_account(user_id).spendable))


def set_auto_recharge(principal: Principal, enabled: bool, below: int, amount: int,
                      payment_method_id: str) -> BillingProfileModel:
    check_top_up_amount(amount)
    if enabled:
        _own_card(principal, payment_method_id)
    else:
        _customer(principal)  # the profile exists
    now = clock.now()
    profile = BillingProfileModel(principal.user_id)
    with UnitOfWork() as work:
        work.update(profile, actions=[
            BillingProfileModel.auto_recharge_enabled.set(enabled), BillingProfileModel.recharge_below.set(below),
            BillingProfileModel.recharge_amount.set(amount),
            BillingProfileModel.recharge_payment_method_id.set(payment_method_id),
            BillingProfileModel.recharge_failure.remove(), BillingProfileModel.updated_at.set(now)])
        _mark_account(work, principal.user_id, below if enabled else None)
    return auto_recharge(principal)


def _mark_account(work: UnitOfWork, user_id: str, below: int | None) -> None:
    """Copy the auto-recharge mark onto the user's account (removed while auto-recharge is off), in the unit
    that changes the setting."""
    mark = AccountModel.recharge_below
    work.update(AccountModel(user_id), actions=[mark.set(below) if below is not None else mark.remove()],
                condition=AccountModel.account_id.exists())



def recharge_if_low(account_id: str) -> TopUpModel | None:
    """After a posting took money from this account: one automatic top-up if its balance is under the
    setting's `below` and none is under way (the claim is a conditional write: never two at once)."""
    profile = _profile(account_id)
    if profile is None or not profile.auto_recharge_enabled or profile.recharge_in_flight:
        return None
    if int(get_account(account_id).balance) >= int(profile.recharge_below):
        return None
    now = clock.now()
    record = TopUpModel(user_id=account_id, top_up_id=str(uuid.uuid4()), amount=int(profile.recharge_amount),
                        payment_method_id=profile.recharge_payment_method_id, status=CREATING, automatic=True,
                        created_at=now, updated_at=now)
    work = UnitOfWork()
    work.update(profile, actions=[BillingProfileModel.recharge_in_flight.set(record.top_up_id)],
                condition=BillingProfileModel.recharge_in_flight.does_not_exist()
                & (BillingProfileModel.auto_recharge_enabled == True))  # noqa: E712 - a condition, not a test
    work.save(record)
    counters.add(work, counters.top_ups(account_id))
    try:
        work.commit()
    except TransactWriteError as error:
        if profile in failed_items(error):
            return None  # another top-up is under way, or auto-recharge was just turned off
        raise
    try:
        return _charge(record, profile.stripe_customer_id, off_session=True)
    except CardDeclined:
        return _top_up(account_id, record.top_up_id)


"""Money out: a buyer's payout account (Stripe Connect Express) and withdrawals of its available earnings.

Stripe is the truth: whether payouts are enabled is read from the connected account (and kept as
`account.updated` says), and a withdrawal is one Stripe Transfer. A withdrawal's posting (earnings → the
platform's payouts account) is written in the same commit as the withdrawal, before the transfer is asked for,
keyed by the withdrawal (from the user's Idempotency-Key): a retry makes one posting and, through Stripe's
idempotency key, one transfer. A transfer Stripe refuses, or reverses later (`transfer.reversed`: Stripe does not
fail a transfer it has made, a failed one comes back as a reversal), gives the money back to the earnings, once
per refusal or reversal.

Two withdrawals of one user cannot both pass the check of the available earnings: each moves the payout
account's withdrawal_count, conditional on the value read before the check. The earnings debit is conditional
too: it must leave the earnings that were pending when read (earnings ≥ amount + pending). A dispute reversal
landing between the check and the commit lowers the earnings and fails that condition (the check is made
again); a call settled meanwhile adds to the earnings and to what is pending alike, so it changes nothing.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.config import get_settings
from chalicelib.domain.errors import Conflict, DomainError, InvalidState, PaymentRequired, field_error
from chalicelib.domain.ledger import EARNINGS_PENDING_DAYS, earnings_split, withdrawal, withdrawal_return
from chalicelib.domain.money import format_money, to_minor
from chalicelib.gateways import stripe_gateway
from chalicelib.gateways.stripe_gateway import MINOR_PER_CENT, PaymentProviderUnavailable, TransferRefused
from chalicelib.observability import logger
from chalicelib.persistence.ledger import get_account, payouts_since, post
from chalicelib.persistence.pagination import Page, paginate
from chalicelib.persistence.tables import PayoutAccountModel, WithdrawalModel
from chalicelib.persistence.base import shard_key, shard_keys
from chalicelib.persistence.tables.payouts import AUTO_WITHDRAW_ON
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.services.access import owner_listed

MIN_WITHDRAWAL = to_minor("25.00")
PENDING, PAID, FAILED = "pending", "paid", "failed"
WITHDRAWAL_STATUSES = (PENDING, PAID, FAILED)
_WITHDRAWAL_IDS = uuid.UUID("b3a1e6f2-4c0d-4d8e-9f57-2e6a9c1b8d43")  # namespace: a user's Idempotency-Key → id
_ATTEMPTS = 3


# --- the payout account ----------------------------------------------------------------------------

def _payout_account(user_id: str) -> PayoutAccountModel | None:
    try:
        return PayoutAccountModel.get(user_id, consistent_read=True)
    except PayoutAccountModel.DoesNotExist:
        return None


def connect(principal: Principal, auto_withdraw: bool | None = None) -> dict:
    """The user's Connect Express account, made on first use (Stripe's idempotency key makes one per user),
    with a fresh onboarding link while Stripe does not pay out to it yet."""
    record = _payout_account(principal.user_id)
    if record is None:
        now = clock.now()
        account_id = stripe_gateway.create_connected_account(principal.user_id,
                                                             getattr(principal.user, "email", None))
        record = PayoutAccountModel(user_id=principal.user_id, stripe_account_id=account_id, created_at=now,
                                    updated_at=now)
        try:
            with UnitOfWork() as work:
                work.save(record, condition=PayoutAccountModel.user_id.does_not_exist())
        except TransactWriteError as error:
            if record not in failed_items(error):
                raise
            record = _payout_account(principal.user_id)  # the same request at the same moment: the same account
    if auto_withdraw is not None:
        record = _set_auto_withdraw(record, auto_withdraw)
    return _view(record)


def payout_account(principal: Principal) -> dict:
    record = _payout_account(principal.user_id)
    if record is None:
        return {"stripe_account_id": None, "payouts_enabled": False, "onboarding_url": None, "auto_withdraw": False}
    return _view(record)


def set_auto_withdraw(principal: Principal, auto_withdraw: bool) -> dict:
    return _view(_set_auto_withdraw(_required(principal.user_id), auto_withdraw))


def _required(user_id: str) -> PayoutAccountModel:
    record = _payout_account(user_id)
    if record is None:
        raise Conflict("Connect a payout account first (POST /billing/payout-account)", code="PAYOUT_ACCOUNT_REQUIRED")
    return record


def _set_auto_withdraw(record: PayoutAccountModel, auto_withdraw: bool) -> PayoutAccountModel:
    key = PayoutAccountModel.auto_withdraw_key
    record.update(actions=[PayoutAccountModel.auto_withdraw.set(auto_withdraw),
                           key.set(shard_key(AUTO_WITHDRAW_ON, record.user_id)) if auto_withdraw else key.remove(),
                           PayoutAccountModel.updated_at.set(clock.now())])
    return record


def _view(record: PayoutAccountModel) -> dict:
    """The account as Stripe now says (payouts_enabled kept), with an onboarding link while it is needed."""
    enabled = _refresh(record)
    link = None
    if not enabled:
        base = get_settings().app_base_url
        link = stripe_gateway.onboarding_link(record.stripe_account_id, return_url=f"{base}/billing/payout-account",
                                              refresh_url=f"{base}/billing/payout-account?refresh=1")
    return {"stripe_account_id": record.stripe_account_id, "payouts_enabled": enabled, "onboarding_url": link,
            "auto_withdraw": bool(record.auto_withdraw)}


def _refresh(record: PayoutAccountModel) -> bool:
    enabled = stripe_gateway.connected_account(record.stripe_account_id).payouts_enabled
    if enabled != bool(record.payouts_enabled):
        _keep_enabled(record.user_id, record.stripe_account_id, enabled)
        record.payouts_enabled = enabled
    return enabled


def _keep_enabled(user_id: str, account_id: str, enabled: bool) -> None:
    try:
        PayoutAccountModel(user_id).update(
            actions=[PayoutAccountModel.payouts_enabled.set(enabled), PayoutAccountModel.updated_at.set(clock.now())],
            condition=PayoutAccountModel.stripe_account_id == account_id)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise  # else: not this user's account (any more), nothing to keep


# --- withdrawals -----------------------------------------------------------------------------------

def check_withdrawal_amount(amount: int, field: str = "amount") -> None:
    if amount < MIN_WITHDRAWAL:
        raise field_error(field, "INVALID_AMOUNT", f"A withdrawal is at least {format_money(MIN_WITHDRAWAL)}")
    if amount % MINOR_PER_CENT:
        raise field_error(field, "INVALID_AMOUNT", "A transfer is made in whole cents")


def available(user_id: str, now: datetime) -> int:
    """The earnings that have waited out their dispute window (negative after a reversal took back more)."""
    return _earnings(user_id, now)[1]


def _earnings(user_id: str, now: datetime) -> tuple[int, int]:
    """(pending, available) of the user's earnings."""
    found = get_account(user_id)
    return earnings_split(int(found.earnings), payouts_since(user_id, now - timedelta(days=EARNINGS_PENDING_DAYS)))


def withdraw(principal: Principal, amount: int, idempotency_key: str) -> WithdrawalModel:
    """Withdraw `amount` (minor units) of the available earnings to the user's payout account. A retry with the
    same Idempotency-Key is the same withdrawal (one posting, one transfer); the same key with another amount
    is 409."""
    check_withdrawal_amount(amount)
    withdrawal_id = str(uuid.uuid5(_WITHDRAWAL_IDS, f"{principal.user_id}:{idempotency_key}"))
    existing = _withdrawal(principal.user_id, withdrawal_id)
    if existing is not None:
        if int(existing.amount) != amount:
            raise Conflict("This idempotency key was used for a different request", code="IDEMPOTENCY_KEY_REUSED")
        if existing.status != PENDING:
            return existing
        return _transfer(existing, _required(principal.user_id).stripe_account_id, retry=True)
    return _withdraw(principal.user_id, withdrawal_id, amount, automatic=False)


def _withdraw(user_id: str, withdrawal_id: str, amount: int, *, automatic: bool) -> WithdrawalModel:
    account = _required(user_id)
    if not (account.payouts_enabled or _refresh(account)):
        raise Conflict("Payouts are not enabled on the payout account yet: finish its onboarding",
                       code="PAYOUT_ACCOUNT_REQUIRED")
    for _ in range(_ATTEMPTS):
        record = _record_withdrawal(user_id, withdrawal_id, amount, automatic)
        if record is not None:
            # Only a pending one is transferred: a failed one's money is back in the earnings already.
            return _transfer(record, account.stripe_account_id) if record.status == PENDING else record
    raise Conflict("Another withdrawal changed the earnings meanwhile; try again", code="CONCURRENT_UPDATE")


def _record_withdrawal(user_id: str, withdrawal_id: str, amount: int, automatic: bool) -> WithdrawalModel | None:
    """The withdrawal and its posting, in one commit, if the earnings available allow it; None if another
    withdrawal of the user committed since the count was read (then the check is made again)."""
    now = clock.now()
    account = _required(user_id)  # its withdrawal_count, read before the earnings
    pending, can = _earnings(user_id, now)
    if amount > can:
        raise _insufficient(can)
    record = WithdrawalModel(user_id=user_id, withdrawal_id=withdrawal_id, amount=amount, status=PENDING,
                             automatic=automatic, created_at=now, updated_at=now)
    work = UnitOfWork()
    work.save(record, condition=WithdrawalModel.withdrawal_id.does_not_exist())
    work.update(account, actions=[PayoutAccountModel.withdrawal_count.add(1)],
                condition=PayoutAccountModel.withdrawal_count == int(account.withdrawal_count or 0))
    try:
        post(withdrawal(withdrawal_id, user_id, amount), now, work, enforce_limits=True, replay_ok=False, keep=pending)
    except PaymentRequired:  # the earnings fell since they were read (a reversal): the check is made again
        return None
    except InvalidState:  # its posting is made: the same request at the same moment recorded it
        return _withdrawal(user_id, withdrawal_id)
    except TransactWriteError as error:
        failed = failed_items(error)
        if record in failed:  # the same request at the same moment
            return _withdrawal(user_id, withdrawal_id)
        if account in failed:
            return None
        raise
    return record


def _insufficient(can: int) -> PaymentRequired:
    return PaymentRequired(f"Only {format_money(max(0, can))} of the earnings are available to withdraw (a call's "
                           "payout waits out its 7-day dispute window)", code="INSUFFICIENT_FUNDS")


def _withdrawal(user_id: str, withdrawal_id: str) -> WithdrawalModel | None:
    try:
        return WithdrawalModel.get(user_id, withdrawal_id, consistent_read=True)
    except WithdrawalModel.DoesNotExist:
        return None


def _transfer(record: WithdrawalModel, destination: str, *, retry: bool = False) -> WithdrawalModel:
    """The withdrawal's transfer at Stripe (the same one however often asked; a retry first looks for one made
    longer ago than Stripe keeps idempotency keys); paid once Stripe has made it, failed (the money back) if
    Stripe refuses it, still pending if Stripe cannot be reached."""
    group = f"withdrawal-{record.withdrawal_id}"
    try:
        made = stripe_gateway.found_transfer(group) if retry else None
        made = made or stripe_gateway.transfer(
            amount=int(record.amount), destination=destination, group=group,
            metadata={"user_id": record.user_id, "withdrawal_id": record.withdrawal_id})
    except TransferRefused as refused:
        return _fail(record, refused.reason)
    except PaymentProviderUnavailable:
        logger.warning("Withdrawal left pending: Stripe unavailable", extra={"withdrawal_id": record.withdrawal_id})
        return record
    return _mark_paid(record, made["id"])


def _mark_paid(record: WithdrawalModel, transfer_id: str) -> WithdrawalModel:
    changes = {"status": PAID, "transfer_id": transfer_id, "updated_at": clock.now()}
    try:
        record.update(actions=[getattr(WithdrawalModel, name).set(value) for name, value in changes.items()],
                      condition=WithdrawalModel.status == PENDING)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        return _withdrawal(record.user_id, record.withdrawal_id) or record  # recorded meanwhile (a retry)
    return record


def _fail(record: WithdrawalModel, code: str) -> WithdrawalModel:
    """Stripe refused the transfer: the withdrawal failed and its money is back in the earnings, in one commit
    (once: the status moves from pending only)."""
    now = clock.now()
    changes = {"status": FAILED, "failure_code": code, "updated_at": now}
    work = UnitOfWork()
    work.update(record, actions=[getattr(WithdrawalModel, name).set(value) for name, value in changes.items()],
                condition=WithdrawalModel.status == PENDING)
    work.assign(record, changes)
    try:
        post(withdrawal_return(f"withdrawal-refused:{record.withdrawal_id}", record.withdrawal_id, record.user_id,
                               int(record.amount)), now, work, enforce_limits=False, replay_ok=False)
    except (TransactWriteError, InvalidState) as error:
        if isinstance(error, TransactWriteError) and record not in failed_items(error):
            raise
        return _withdrawal(record.user_id, record.withdrawal_id) or record  # failed meanwhile (a retry)
    return record


def _reversed(record: WithdrawalModel, transfer: dict) -> None:
    """Stripe reversed (part of) the withdrawal's transfer: each reversal's money back in the earnings, once;
    the whole transfer reversed, the withdrawal failed."""
    now = clock.now()
    for reversal in (transfer.get("reversals") or {}).get("data") or []:
        post(withdrawal_return(f"transfer-reversal:{reversal['id']}", record.withdrawal_id, record.user_id,
                               int(reversal["amount"]) * MINOR_PER_CENT), now, enforce_limits=False)
    if transfer.get("reversed") and record.status != FAILED:
        changes = {"status": FAILED, "failure_code": "transfer_reversed", "transfer_id": transfer["id"],
                   "updated_at": now}
        try:
            record.update(actions=[getattr(WithdrawalModel, name).set(value) for name, value in changes.items()],
                          condition=WithdrawalModel.status.is_in(PENDING, PAID))
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise


def withdrawals(principal: Principal, page: int, limit: int, next_token: str | None,
                user_id: str | None = None) -> Page:
    """The user's withdrawals (an admin names whose), newest first (the payout account counts them)."""
    user_id = owner_listed(principal, user_id).user_id

    def run(start_key, count):
        return WithdrawalModel.by_time.query(user_id, scan_index_forward=False,
                                             last_evaluated_key=start_key, limit=count)

    def total() -> int:
        account = _payout_account(user_id)
        return int(account.withdrawal_count or 0) if account else 0

    return paginate(run, total, scope=f"withdrawals:{user_id}", page=page, limit=limit, next_token=next_token)


# --- Stripe's events -------------------------------------------------------------------------------

def stripe_event(kind: str, obj: dict) -> None:
    """Connect's events: an account's payouts enabled (or not), a transfer reversed (its money back)."""
    metadata = obj.get("metadata") or {}
    if kind == "account.updated" and metadata.get("user_id"):
        _keep_enabled(metadata["user_id"], obj["id"], bool(obj.get("payouts_enabled")))
    elif kind == "transfer.reversed" and metadata.get("user_id") and metadata.get("withdrawal_id"):
        record = _withdrawal(metadata["user_id"], metadata["withdrawal_id"])
        if record is not None and int(record.amount) // MINOR_PER_CENT == int(obj.get("amount") or 0):
            _reversed(record, obj)


# --- the weekly auto-withdrawal --------------------------------------------------------------------

def withdraw_available_earnings(now: datetime) -> dict:
    """Every payout account with auto_withdraw: everything available withdrawn (whole cents, when at least
    25.00), once a week (the withdrawal's id is the user's and the ISO week's: a second run the same week
    makes none, and finishes one left pending). One user's failure does not stop the others."""
    year, week, _ = now.isocalendar()
    outcome = {"withdrawn": 0, "skipped": 0, "failed": 0}
    accounts = (found for shard in shard_keys(AUTO_WITHDRAW_ON)
                for found in PayoutAccountModel.auto_withdraw_accounts.query(shard))
    for found in accounts:
        user_id = found.user_id
        withdrawal_id = str(uuid.uuid5(_WITHDRAWAL_IDS, f"{user_id}:auto-withdraw:{year}-W{week:02d}"))
        try:
            existing = _withdrawal(user_id, withdrawal_id)
            if existing is not None:
                if existing.status == PENDING:
                    _transfer(existing, _required(user_id).stripe_account_id, retry=True)
                outcome["skipped"] += 1
                continue
            amount = available(user_id, now)
            amount -= amount % MINOR_PER_CENT
            if amount < MIN_WITHDRAWAL:
                outcome["skipped"] += 1
                continue
            record = _withdraw(user_id, withdrawal_id, amount, automatic=True)
            outcome["withdrawn" if record.status != FAILED else "failed"] += 1
        except DomainError as error:  # payouts not enabled, the earnings changed meanwhile...
            logger.info("Auto-withdrawal skipped", extra={"user_id": user_id, "code": error.code})
            outcome["failed"] += 1
    return outcome

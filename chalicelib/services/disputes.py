"""A seller's protection from calls a buyer reported through the API: within 7 days of being billed for
one, the seller disputes it; an admin accepts the dispute (the settlement is reversed exactly, in one
balanced, idempotent transaction) or rejects it. Calls the telephony provider carried are not disputable:
the provider's record is the truth."""
from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.domain import calls as lifecycle
from chalicelib.domain.errors import Conflict, InvalidState
from chalicelib.domain.ledger import settlement_reversal
from chalicelib.persistence import counters
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.persistence.ledger import post
from chalicelib.persistence.tables import CallModel, DisputeAttribute, LedgerTransactionModel
from chalicelib.persistence.base import shard_key, shard_keys
from chalicelib.persistence.pagination import Page, paginate_shards
from chalicelib.services import analytics, calls, notifications
from chalicelib.services.access import fetch

OPEN, ACCEPTED, REJECTED = "open", "accepted", "rejected"
WINDOW = timedelta(days=7)
OPEN_KEY = "OPEN"  # the open_dispute prefix of a call whose dispute waits (in shards, by call id)


def open_dispute(principal: Principal, call_id: str, reason: str) -> DisputeAttribute:
    """The seller the call was billed to, within WINDOW of its completion, once per call."""
    call = calls.get_call(principal, call_id)
    if call.seller_id != principal.user_id:
        raise calls.not_found()
    if call.source == lifecycle.TWILIO:
        raise Conflict("The telephony provider carried this call: its record is the truth", code="NOT_DISPUTABLE")
    if call.status != lifecycle.COMPLETED or not call.billable:
        raise InvalidState("Only a completed call you were billed for can be disputed", code="NOT_DISPUTABLE")
    now = clock.now()
    if call.completed_at + WINDOW < now:
        raise Conflict("A call can be disputed within 7 days of its completion", code="DISPUTE_WINDOW_CLOSED")
    dispute = DisputeAttribute(status=OPEN, reason=reason, opened_at=now)
    try:
        with UnitOfWork() as work:
            work.update(call, actions=[CallModel.dispute.set(dispute), CallModel.open_dispute.set(shard_key(OPEN_KEY, call.call_id))],
                        condition=CallModel.dispute.does_not_exist() & (CallModel.seller_id == principal.user_id))
            counters.add_to_all(work, counters.OPEN_DISPUTES)
            _tell_both(work, call, "dispute_opened", "A call is disputed",
                       f"Call {call.call_id} is disputed by its seller: {reason}", now)
    except TransactWriteError as error:
        if call in failed_items(error):
            raise Conflict("This call has been disputed already", code="DISPUTE_EXISTS") from None
        raise
    return dispute


def list_open(page: int, limit: int, next_token: str | None) -> Page:
    """Admins: the disputes that wait for a decision, oldest call first."""
    return paginate_shards(CallModel.open_disputes, shard_keys(OPEN_KEY), lambda: counters.value_of_all(counters.OPEN_DISPUTES),
                           scope="disputes:open", page=page, limit=limit, next_token=next_token, newest_first=False)


def decide(call_id: str, decision: str, note: str | None) -> CallModel:
    """Accepted: the settlement is reversed exactly (the seller gets the price back, the buyer gives up
    its payout and gets any telephony it paid back, the platform its take and telephony), with the
    decision, in one transaction; a second decision finds the dispute decided (INVALID_STATE)."""
    call = fetch(CallModel, call_id, calls.not_found())
    if call.dispute is None:
        raise InvalidState("This call has no dispute", code="NO_DISPUTE")
    now = clock.now()
    decided = DisputeAttribute(status=decision, reason=call.dispute.reason, opened_at=call.dispute.opened_at,
                               decided_at=now, note=note)

    work = UnitOfWork()
    work.update(call, actions=[CallModel.dispute.set(decided), CallModel.open_dispute.remove()],
                condition=CallModel.dispute.status == OPEN)
    counters.add_to_all(work, counters.OPEN_DISPUTES, -1)
    work.assign(call, {"dispute": decided, "open_dispute": None})
    _tell_both(work, call, f"dispute_{decision}", f"A dispute was {decision}",
               f"The dispute of call {call.call_id} was {decision}" + (f": {note}" if note else ""), now)
    try:
        if decision == ACCEPTED:
            analytics.count_paid_call(work, call.seller_id, -int(call.price), -1)
            settled = LedgerTransactionModel.get(f"call_settlement:{call.call_id}", consistent_read=True)
            reversal = settlement_reversal(f"dispute_reversal:{call.call_id}", settled.entries, call.call_id)
            post(reversal, now, work, enforce_limits=False, replay_ok=False)
        else:
            work.commit()
    except (TransactWriteError, InvalidState) as error:
        if isinstance(error, InvalidState) or call in failed_items(error):
            raise InvalidState("The dispute has been decided already", code="INVALID_STATE") from None
        raise
    return call


def _tell_both(work: UnitOfWork, call: CallModel, kind: str, subject: str, message: str, now: datetime) -> None:
    for user_id in (call.owner_id, call.seller_id):
        notifications.send(work, user_id, kind, subject, message, now)

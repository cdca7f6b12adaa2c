"""The money of a call's ending: a completed call is billed once, an undelivered one gives back what
routing held. Each ending is one transaction with the call's status change."""
from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.domain import calls as lifecycle
from chalicelib.domain import terms
from chalicelib.domain.errors import Conflict, InvalidState, PaymentRequired
from chalicelib.domain.ledger import Posting, call_settlement, release
from chalicelib.observability import HOLD_AGE_AT_END, HOLD_RELEASED, HOLD_SETTLED, SETTLEMENT_FAILED, measure
from chalicelib.persistence import cap_counters, counters
from chalicelib.domain.routing import MAX_DUPLICATE_WINDOW_HOURS
from chalicelib.persistence.calls import move_status
from chalicelib.persistence.ledger import get_account, post
from chalicelib.persistence.tables import CallerBilledModel, CallModel, ProfileSpendModel
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.services import analytics


# A settlement the buyer's spending outran (its balance moved between the read and the posting) is
# bounded again, this many times.
SETTLE_ATTEMPTS = 3


def settle(call: CallModel, duration: int, leg_sid: str | None = None) -> CallModel:
    """Completed after `duration` seconds. A call converts when its talk time reaches its profile's
    conversion_seconds (the platform's billable threshold by default); only a converted call is billable:
    it pays the buyer from the seller's hold, less the take, and the telephony comes out of that payout
    first (the buyer's balance pays only the rest). One that does not convert (or a duplicate caller)
    gives the seller its hold and the day's budget back, and the buyer's balance pays its telephony.
    Whatever the duration reported, the talk time billed is bounded by what the payout and the buyer's
    balance and credit limit can pay for, and the posting is conditional on that: no account ends below
    its credit limit; what Twilio carried beyond it is the platform's telephony loss. A live call's
    answered attempt records its outcome with it; the call counts in its profile's caps (as they say),
    and frees its concurrent slot; the seller's dashboard counts a billed call with its bill."""
    settings = get_settings()
    converted = duration >= terms.conversion_seconds(call.terms, settings.billable_threshold_seconds)
    # A duplicate caller (the profile's duplicate window) was routed, but its seller pays nothing.
    billable = converted and not call.duplicate_caller
    price = int(call.price)  # in progress means routed, and routing set the price
    take = lifecycle.platform_take(price, settings.take_rate_bps)

    for _ in range(SETTLE_ATTEMPTS):
        billed = _billed_seconds(call, duration, price - take if billable else 0)
        cost = lifecycle.telephony_cost(billed, settings.telephony_rate_per_minute)
        carried = lifecycle.telephony_cost(duration, settings.telephony_rate_per_minute) \
            if call.source == lifecycle.TWILIO else cost  # Twilio charges every minute it carried
        posting = call_settlement(f"call_settlement:{call.call_id}", buyer_id=call.owner_id,
                                  seller_id=call.seller_id, price=price, take=take, cost=cost, billable=billable,
                                  reference=call.call_id, loss=carried - cost)
        now = clock.now()
        changes = {"duration_seconds": duration, "billed_seconds": billed, "cost": cost, "billable": billable,
                   "converted": converted, "completed_at": now}
        if call.attempts:
            changes["attempts"] = [*call.attempts[:-1], {**call.attempts[-1], "outcome": "answered",
                                                         "ended_at": now.isoformat(),
                                                         "leg_sid": leg_sid or call.attempts[-1].get("leg_sid")}]
        work = UnitOfWork()
        changes.update(count_in_caps(work, call, now, terms.CONNECTED))  # a live call whose answer was not told
        if converted:
            changes.update(count_in_caps(work, call, now, terms.CONVERTED))
        if billable:
            _count_bill(work, call, price, now)
        try:
            return _end(work, call, posting, lifecycle.COMPLETED, changes, give_back_budget=not billable,
                        enforce_limits=True)
        except PaymentRequired:  # the buyer spent meanwhile: bound the talk time again
            continue
    # Not done, and never taken for done: the caller answers an error (Twilio's callback, the SQS message or
    # the buyer's request is not a success), and the hold job settles the call if nobody else does.
    measure(SETTLEMENT_FAILED)
    raise Conflict("The buyer's balance kept changing; the call is not settled yet", code="SETTLEMENT_CONTENDED")


def count_in_caps(work: UnitOfWork, call: CallModel, now: datetime, when: str) -> dict:
    """Counts the call in its profile's cap windows (hour, day, month) now, if its profile counts calls
    `when` (connected or converted) and it has not counted yet; returns the call's changes."""
    if call.concurrency_key is None or call.cap_counted or terms.counts_on(call.terms) != when:
        return {}  # routed before profiles had caps, counted already, or counting on the other event
    cap_counters.stage_count(work, call.profile_id, call.terms, now)
    return {"cap_counted": True}


def _count_bill(work: UnitOfWork, call: CallModel, price: int, now: datetime) -> None:
    """The seller's dashboard counts the bill, and the caller is remembered for its duplicate window."""
    analytics.count_paid_call(work, call.seller_id, price)
    if call.caller_key:  # for the seller's later calls from this caller
        work.save(CallerBilledModel(caller_key=call.caller_key, billed_at=now,
                                    purge_at=now + timedelta(hours=MAX_DUPLICATE_WINDOW_HOURS)))


def _billed_seconds(call: CallModel, duration: int, payout: int) -> int:
    """The duration, bounded by the talk time the payout, then the buyer's balance down to its credit
    limit, can pay for (the buyer's account is read only when the payout alone cannot pay)."""
    settings = get_settings()
    rate = settings.telephony_rate_per_minute
    if lifecycle.telephony_cost(duration, rate) <= payout:
        return duration
    available = int(get_account(call.owner_id).spendable)
    return min(duration, lifecycle.talk_seconds_affordable(payout, available, rate, settings.max_call_seconds))


def release_attempt(call: CallModel, outcome: str, now: datetime, leg_sid: str | None = None) -> CallModel:
    """A seller of a live call's ring tree did not answer (busy, no-answer, failed, canceled): its held price
    and budget go back, the attempt records why (and its leg, when known), and the call, still queued,
    waits for the next seller. Once per attempt: the hold's release is keyed by it."""
    attempt = len(call.attempts) - 1
    attempts = [*call.attempts[:-1], {**call.attempts[-1], "outcome": outcome, "ended_at": now.isoformat(),
                                      "leg_sid": leg_sid or call.attempts[-1].get("leg_sid")}]
    posting = release(f"call_release:{call.call_id}:{attempt}", call.seller_id, int(call.price),
                      f"Call {call.call_id}: {outcome}", call.call_id)
    cleared = ("seller_id", "profile_id", "price", "destination_number", "spend_key", "duplicate_caller", "caller_key",
               "terms", "concurrency_key", "cap_counted")
    # Nothing is held now, but the call stays among the open ones: if the Dial's action that rings the next
    # seller never comes, the hold job ends it (services/holds.py).
    due = now + timedelta(seconds=get_settings().ring_timeout_seconds) + lifecycle.HOLD_GRACE

    work = UnitOfWork()
    work.update(call, actions=[CallModel.attempts.set(attempts), CallModel.updated_at.set(now),
                               CallModel.hold_due_at.set(due), *(getattr(CallModel, name).remove() for name in cleared)],
                condition=(CallModel.status == call.status) & (CallModel.profile_id == call.profile_id))
    _give_back_budget(work, call)
    _free_slot(work, call)
    counters.add(work, counters.seller_calls(call.seller_id), -1)  # the call leaves its seller's list
    held_since = call.held_since
    work.assign(call, {"attempts": attempts, "updated_at": now, "hold_due_at": due, **dict.fromkeys(cleared)})
    _post(work, call, posting, now)
    _measure_end(HOLD_RELEASED, held_since, now)
    return call


def release_undelivered(call: CallModel, target: str, work: UnitOfWork | None = None,
                        changes: dict | None = None) -> CallModel:
    """Routed but never delivered: the price held from the seller goes back, with its daily budget (and
    whatever `work` holds already, and `changes` to the call)."""
    posting = release(f"call_release:{call.call_id}", call.seller_id, int(call.price),
                      f"Call {call.call_id}: {target}", call.call_id)
    return _end(work or UnitOfWork(), call, posting, target, changes or {}, give_back_budget=True)


def _end(work: UnitOfWork, call: CallModel, posting: Posting, target: str, changes: dict, give_back_budget: bool,
         enforce_limits: bool = False) -> CallModel:
    """The call's ending, with what `work` holds already. Conditional on the status we read: a second
    ending, concurrent or not, moves no money and is INVALID_STATE."""
    now = clock.now()
    held_since = call.held_since
    if call.source == lifecycle.API:  # one open reported call fewer: the buyer may route another (max_open_reported_calls)
        counters.add(work, counters.open_reported_calls(call.owner_id), -1)
    move_status(work, call, target, {**changes, "updated_at": now})
    if give_back_budget and call.spend_key:
        _give_back_budget(work, call)
    _free_slot(work, call)
    _post(work, call, posting, now, enforce_limits)
    _measure_end(HOLD_SETTLED if target == lifecycle.COMPLETED else HOLD_RELEASED, held_since, now)
    return call


def _measure_end(outcome: str, held_since: datetime | None, now: datetime) -> None:
    measure(outcome)
    if held_since is not None:
        measure(HOLD_AGE_AT_END, (now - held_since).total_seconds())


def _free_slot(work: UnitOfWork, call: CallModel) -> None:
    """The call, ended or released, no longer takes one of its profile's concurrent slots."""
    if call.concurrency_key:
        cap_counters.stage_release(work, call.concurrency_key)


def _give_back_budget(work: UnitOfWork, call: CallModel) -> None:
    work.update(ProfileSpendModel(spend_key=call.spend_key), actions=[ProfileSpendModel.spent.add(-int(call.price))])


def _post(work: UnitOfWork, call: CallModel, posting: Posting, now: datetime, enforce_limits: bool = False) -> None:
    """The posting and the call's change in one commit, conditional on the call being as read. The
    seller's price was held at routing; a release gives back only what was held (no limit applies), and
    a settlement's telephony is bounded by what the buyer can pay, which `enforce_limits` makes sure of."""
    try:
        post(posting, now, work, enforce_limits=enforce_limits, replay_ok=False)
    except TransactWriteError as error:
        if call in failed_items(error):
            raise InvalidState("The call changed state meanwhile; read it and try again") from None
        raise

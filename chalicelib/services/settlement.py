"""The money of a call's ending: a completed call is billed once, an undelivered one gives back what
routing held. Each ending is one transaction with the call's status change."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.domain import calls as lifecycle
from chalicelib.domain.errors import InvalidState
from chalicelib.domain.ledger import Posting, call_settlement, release
from chalicelib.persistence import counters
from chalicelib.persistence.calls import apply, move_status
from chalicelib.persistence.db import failed_items
from chalicelib.persistence.ledger import post
from chalicelib.persistence.models import CallModel, ProfileSpendModel
from chalicelib.services import analytics
from chalicelib.services import events


def settle(call: CallModel, duration: int) -> CallModel:
    """Completed after `duration` seconds: billable calls pay the buyer from the seller's hold, less the
    take, and the telephony comes out of that payout first (the buyer's balance pays only the rest); a
    short call releases the hold and the day's budget. A live call's answered attempt records its outcome
    with it. The seller's dashboard counts a billed call with its bill."""
    settings = get_settings()
    billable = duration >= settings.billable_threshold_seconds
    price = int(call.price)  # in progress means routed, and routing set the price
    cost = lifecycle.telephony_cost(duration, settings.telephony_rate_per_minute) if billable else 0
    posting = call_settlement(f"call_settlement:{call.call_id}", buyer_id=call.owner_id, seller_id=call.seller_id,
                              price=price, take=lifecycle.platform_take(price, settings.take_rate_bps), cost=cost,
                              billable=billable, reference=call.call_id)
    now = clock.now()
    changes = {"duration_seconds": duration, "cost": cost, "billable": billable, "completed_at": now}
    if call.attempts:
        changes["attempts"] = [*call.attempts[:-1], {**call.attempts[-1], "outcome": "answered",
                                                     "ended_at": now.isoformat()}]
    counted = (lambda tx: analytics.count_paid_call(tx, call.seller_id, price)) if billable else None
    return _end(call, posting, lifecycle.COMPLETED, changes, give_back_budget=not billable, also=counted)


def release_attempt(call: CallModel, outcome: str, now: datetime) -> CallModel:
    """A seller of a live call's ring tree did not answer (busy, no-answer, failed, canceled): its held price
    and budget go back, the attempt records why, and the call, still queued, waits for the next seller."""
    attempt = len(call.attempts) - 1
    attempts = [*call.attempts[:-1], {**call.attempts[-1], "outcome": outcome, "ended_at": now.isoformat()}]
    posting = release(f"call_release:{call.call_id}:{attempt}", call.seller_id, int(call.price),
                      f"Call {call.call_id}: {outcome}", call.call_id)
    cleared = ("seller_id", "profile_id", "price", "destination_number", "spend_key")

    def write(tx: TransactWrite) -> None:
        tx.update(call, actions=[CallModel.attempts.set(attempts), CallModel.updated_at.set(now),
                                 *(getattr(CallModel, name).remove() for name in cleared)],
                  condition=(CallModel.status == call.status) & (CallModel.profile_id == call.profile_id))
        _give_back_budget(tx, call)
        counters.add(tx, counters.seller_calls(call.seller_id), -1)  # the call leaves its seller's list

    _post(call, posting, now, write)
    return apply(call, {"attempts": attempts, "updated_at": now, **dict.fromkeys(cleared)})


def release_undelivered(call: CallModel, target: str) -> CallModel:
    """Routed but never delivered: the price held from the seller goes back, with its daily budget."""
    posting = release(f"call_release:{call.call_id}", call.seller_id, int(call.price),
                      f"Call {call.call_id}: {target}", call.call_id)
    return _end(call, posting, target, {}, give_back_budget=True)


def _end(call: CallModel, posting: Posting, target: str, changes: dict, give_back_budget: bool,
         also: Callable[[TransactWrite], None] | None = None) -> CallModel:
    """Conditional on the status we read: a second ending, concurrent or not, moves no money and is
    INVALID_STATE."""
    now = clock.now()
    written: dict = {}

    def write(tx: TransactWrite) -> None:
        written.update(move_status(tx, call, target, {**changes, "updated_at": now}))
        if give_back_budget and call.spend_key:
            _give_back_budget(tx, call)
        if also:
            also(tx)

    _post(call, posting, now, write)
    return events.call_moved(call, written)


def _give_back_budget(tx: TransactWrite, call: CallModel) -> None:
    tx.update(ProfileSpendModel(spend_key=call.spend_key), actions=[ProfileSpendModel.spent.add(-int(call.price))])


def _post(call: CallModel, posting: Posting, now: datetime, write) -> None:
    """The posting and the call's change in one transaction, conditional on the call being as read. The
    seller's price was held at routing and the telephony was delivered: no credit limit applies now."""
    try:
        post(posting, now, enforce_limits=False, also=write, replay_ok=False)
    except TransactWriteError as error:
        if call in failed_items(error):
            raise InvalidState("The call changed state meanwhile; read it and try again") from None
        raise

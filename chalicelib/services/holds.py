"""Every hold ends. Routing holds a seller's price until the call ends; Twilio's callbacks or the buyer end it.
When neither comes, the hold job ends the call once it is overdue (persistence/holds.py finds it):

- a live call past its ring timeout + its Dial's timeLimit + 5 minutes: Twilio is asked for the call, and
  its answer decides: settled on the leg's talk time if a seller answered, released if not (a call Twilio
  does not know is released); one still under way is looked at again later;
- a call its buyer reported through the API, routed REPORTED_CALL_TTL_HOURS ago and never ended: it ends
  as `expired`, the price goes back to its seller, and both sides are told.

Admins see the open holds (GET /admin/holds) and may end a stuck call by hand.
"""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.config import get_settings
from chalicelib.domain import calls as lifecycle
from chalicelib.domain.errors import InvalidState
from chalicelib.gateways import twilio
from chalicelib.observability import OLDEST_OPEN_HOLD, logger, measure
from chalicelib.persistence import holds
from chalicelib.persistence.calls import move_status
from chalicelib.persistence.tables import CallModel
from chalicelib.persistence.unit_of_work import UnitOfWork
from chalicelib.services import calls, notifications, orders, settlement

# Twilio's statuses of a call that has not ended yet.
UNDER_WAY = frozenset({"queued", "initiated", "ringing", "in-progress"})
# How a leg that nobody answered ended, as a call's ending.
UNANSWERED_ENDING = {"busy": lifecycle.BUSY, "no-answer": lifecycle.NO_ANSWER, "failed": lifecycle.FAILED,
                     "canceled": lifecycle.CANCELED}


def end_overdue(now: datetime) -> dict[str, int]:
    """Scheduled: every call whose hold is overdue is ended (or, still under way at Twilio, looked at again
    later). Reads the open holds only (O(open holds), never a scan)."""
    outcomes: dict[str, int] = {}
    oldest = holds.first(1)
    measure(OLDEST_OPEN_HOLD, (now - oldest[0].held_since).total_seconds() if oldest else 0)
    for listed in holds.oldest_first():
        if listed.hold_due_at is None or listed.hold_due_at > now:
            continue
        try:
            call = CallModel.get(listed.call_id, consistent_read=True)
        except CallModel.DoesNotExist:
            continue
        if call.hold_due_at is None or call.hold_due_at > now or call.status in lifecycle.ENDED:
            continue  # ended or moved on since the index was read
        try:
            outcome = _end_live(call, now) if call.source == lifecycle.TWILIO else _expire(call, now)
        except InvalidState:  # ended by its callbacks or its buyer meanwhile
            outcome = "ended_meanwhile"
        except twilio.TwilioCallFailed:  # Twilio did not answer: the next run asks again
            logger.warning("Twilio did not answer about an overdue call", extra={"call_id": call.call_id})
            outcome = "twilio_unavailable"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    logger.info("Overdue holds", extra=outcomes)
    return outcomes


def _expire(call: CallModel, now: datetime, released_by: dict | None = None) -> str:
    """The call ends as expired: the price goes back to the seller, and both sides are told why."""
    work = UnitOfWork()
    why = "ended by an admin" if released_by else f"never ended within {get_settings().reported_call_ttl_hours} hours"
    for user_id in {call.owner_id, call.seller_id} - {None}:
        notifications.send(work, user_id, "call_expired", "A call expired",
                           f"Call {call.call_id} was {why}: the price held for it went back to its seller.", now)
    if call.seller_id is None:  # nothing held (a live call between two sellers): it only ends
        move_status(work, call, lifecycle.EXPIRED, {"updated_at": now, "released_by": released_by})
        work.commit()
    else:
        settlement.release_undelivered(call, lifecycle.EXPIRED, work, {"released_by": released_by})
    return "expired"


def _end_live(call: CallModel, now: datetime) -> str:
    """What Twilio says of the call's current leg (or, when its leg is not known, of the legs its Dial
    placed) decides how it ends."""
    attempt = (call.attempts or [{}])[-1]
    leg = twilio.fetch_call(attempt["leg_sid"]) if attempt.get("leg_sid") else _leg_from_twilio(call, attempt)
    if leg is not None and leg["status"] in UNDER_WAY:
        _look_again(call, now)
        return "under_way"
    if call.seller_id is not None and leg is not None and leg["status"] == "completed":
        settlement.settle(call, min(leg["duration"] or 0, get_settings().max_call_seconds), leg["sid"])
        return "settled"
    if leg is None:
        parent = twilio.fetch_call(call.call_sid)
        if parent is not None and parent["status"] in UNDER_WAY:
            _look_again(call, now)
            return "under_way"
    # How the leg ended, as Twilio says, or else as its callback told us before the Dial's action was lost.
    ended_as = leg["status"] if leg else attempt.get("outcome")
    target = UNANSWERED_ENDING.get(ended_as, lifecycle.NO_ANSWER if leg else lifecycle.FAILED)
    if call.seller_id is None:
        with UnitOfWork() as work:
            move_status(work, call, target, {"updated_at": now})
    else:
        settlement.release_undelivered(call, target)
    return "released"


def _leg_from_twilio(call: CallModel, attempt: dict) -> dict | None:
    """The leg the call's current attempt dialed, found among the call's children at Twilio (its
    callbacks, which would have told us its CallSid, never came)."""
    if not call.call_sid or not attempt:
        return None
    legs = [leg for leg in twilio.legs_of(call.call_sid) if leg["to"] == attempt.get("destination_number")]
    return legs[0] if legs else None


def _look_again(call: CallModel, now: datetime) -> None:
    try:
        call.update(actions=[CallModel.hold_due_at.set(now + lifecycle.HOLD_GRACE)],
                    condition=CallModel.status == call.status)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        logger.info("Overdue call moved meanwhile", extra={"call_id": call.call_id})  # the next run reads it again


# --- admins ----------------------------------------------------------------------------------------

def held_in_total() -> int:
    """Every open hold: the prices held for calls, and what unfinished number orders hold."""
    return sum(int(call.price) for call in holds.oldest_first() if call.seller_id is not None) \
        + orders.held_for_pending_orders()


def list_open(limit: int) -> list[dict]:
    """The oldest open holds first, with their age and call."""
    now = clock.now()
    return [{"call_id": call.call_id, "status": call.status, "source": call.source, "buyer_id": call.owner_id,
             "seller_id": call.seller_id, "held": call.price, "held_since": call.held_since,
             "age_seconds": int((now - call.held_since).total_seconds()), "due_at": call.hold_due_at}
            for call in holds.first(limit)]


def release_by_hand(admin: Principal, call_id: str, reason: str) -> CallModel:
    """An admin ends a stuck call: it expires, its hold goes back, and who did it and why is kept on the
    call. A call that has ended already is answered as it is (the same request twice changes nothing)."""
    call = calls.get_call(admin, call_id)
    if call.status in lifecycle.ENDED:
        return call
    now = clock.now()
    released_by = {"admin_id": admin.user_id, "reason": reason, "at": now.isoformat()}
    logger.info("Call released by an admin", extra={"call_id": call_id, **released_by})
    try:
        _expire(call, now, released_by)
    except InvalidState:
        return calls.get_call(admin, call_id)
    return call

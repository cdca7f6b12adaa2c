"""Live calls, driven by Twilio's voice webhooks.

A call that arrives on an ACTIVE exchange-routed number becomes a call (`source: "twilio"`, keyed by
its CallSid, so Twilio repeating itself never makes two), is checked against the state restrictions,
and rings the best eligible seller (<Dial>). When that seller does not answer, its hold goes back (on the
leg's own status callback or the Dial's action, whichever comes first), and the Dial's action rings the
next (a ring tree, never the same seller twice, at most MAX_DIAL_ATTEMPTS). Each ring attempt is known
by its leg's CallSid: a repeated or late action or callback of an earlier attempt changes nothing, and
an action gets the answer it got the first time. Status callbacks move the call along, only ever forward,
and the call is billed once, on Twilio's talk time of the bridged leg. Anything else gets a polite
goodbye and costs nobody anything. A call whose callbacks never come is ended by the hold job
(services/holds.py), from what Twilio says of it.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.domain import calls as lifecycle
from chalicelib.domain import compliance as compliance_rules
from chalicelib.domain import numbers as number_rules
from chalicelib.domain import phones, terms
from chalicelib.domain.errors import Forbidden, InvalidState
from chalicelib.gateways import twilio_voice
from chalicelib.observability import logger
from chalicelib.persistence.calls import move_status
from chalicelib.persistence.unit_of_work import UnitOfWork
from chalicelib.persistence.tables import BidProfileModel, CallModel, NumberModel, PhoneClaimModel
from chalicelib.services import bid_profiles, calls, compliance, routing, rtb_pool, sellers, settlement

# Call ids of Twilio's calls derive from their CallSid: one call per CallSid, however often it is posted.
TWILIO_CALLS = uuid.UUID("5f0c2d6e-3b9a-4e1f-8a7d-2c4b6e8f0a13")
NOT_IN_SERVICE = "The number you have called is not in service. Goodbye."
REFUSED = "We are sorry, this call cannot be connected. Goodbye."
NOBODY = "We are sorry, nobody is available to take your call. Goodbye."
UNAVAILABLE = "The number you have called is temporarily unavailable. Please try again later. Goodbye."
ANSWERED = frozenset({"completed", "answered"})  # DialCallStatus of a bridged call
CALLER_HUNG_UP = "canceled"  # DialCallStatus when the caller hung up before anyone answered
NOT_ANSWERED = frozenset({"busy", "no-answer", "failed", CALLER_HUNG_UP})  # the seller rung did not take it
# A dialed leg's CallStatus and where it moves the call (busy, no-answer, failed and canceled release the
# attempt's hold; the Dial's action rings the next seller).
LEG_PROGRESS = {"ringing": lifecycle.RINGING, "in-progress": lifecycle.IN_PROGRESS,
                "answered": lifecycle.IN_PROGRESS, "completed": lifecycle.COMPLETED}


def verify(url: str, params: dict[str, str], signature: str | None) -> None:
    """403 unless Twilio signed this request: its signature over the URL it called (rebuilt from our
    public base URL, never from the request) and every parameter it posted."""
    if not twilio_voice.is_twilios(url, params, signature):
        raise Forbidden("The request is not signed by Twilio", code="INVALID_TWILIO_SIGNATURE")


def call_id_of(call_sid: str) -> str:
    return str(uuid.uuid5(TWILIO_CALLS, call_sid))


def incoming(call_sid: str, from_number: str, to_number: str) -> str:
    """Twilio's request when a call arrives: TwiML that rings a seller, or says goodbye."""
    now = clock.now()
    # Each number in its one canonical spelling (a caller spelled otherwise is unknown): what DNC entries,
    # claims and duplicate windows are compared with.
    from_number, to_number = phones.canonical_e164(from_number), phones.canonical_e164(to_number)
    number = _routed_number(to_number) if to_number else None
    if number is None or from_number is None:
        return twilio_voice.goodbye(NOT_IN_SERVICE)
    if number.routing == number_rules.RTB_POOL:
        return _pool_call(call_sid, from_number, number, now)
    if number.fee_due_since is not None:  # suspended until its owner's balance pays its monthly fee
        return twilio_voice.goodbye(UNAVAILABLE)
    try:
        compliance.check_call(number.owner_id, lifecycle.INBOUND, from_number, to_number, now)
    except Forbidden:  # recorded with the buyer's refusals
        return twilio_voice.goodbye(REFUSED)
    call = CallModel(
        call_id=call_id_of(call_sid), source=lifecycle.TWILIO, call_sid=call_sid, owner_id=number.owner_id,
        from_number=from_number, to_number=to_number, direction=lifecycle.INBOUND, call_type=number.call_type,
        caller_country=phones.country_of(from_number), caller_state=phones.state_of(from_number),
        status=lifecycle.PENDING, owner_status=f"{number.owner_id}#{lifecycle.PENDING}", attempts=[],
        created_at=now, updated_at=now)
    try:
        calls.save_new(call)
    except TransactWriteError:  # Twilio repeating itself (the CallSid is known): the same answer
        return _current_answer(_find(call_sid))
    return _ring_next(call, now)


def dial_finished(call_sid: str, dial_status: str, dial_duration: int | None, leg_sid: str | None = None) -> str:
    """The Dial's action: a bridged call is billed; a seller who did not answer gives way to the next. The
    action of an attempt that ended already (a repeat, or a late one) gets the answer it got then."""
    now = clock.now()
    call = _find(call_sid)
    if call is None:
        return twilio_voice.hang_up()
    index = _attempt_of(call, leg_sid)
    if index is not None and call.attempts[index].get("answer"):
        return call.attempts[index]["answer"]
    if call.status in lifecycle.ENDED or index != len(call.attempts or []) - 1:
        return twilio_voice.hang_up()
    if dial_status in ANSWERED:
        _bill(call, dial_duration or 0, leg_sid)
        return twilio_voice.hang_up()
    if dial_status not in NOT_ANSWERED:  # a status Twilio does not document: the leg's callbacks decide
        logger.warning("Unknown DialCallStatus", extra={"call_id": call.call_id, "dial_status": dial_status[:32]})
        return twilio_voice.hang_up()
    if call.attempts[index].get("outcome") is None:  # not released by the leg's own callback yet
        try:
            call = settlement.release_attempt(call, dial_status, now, leg_sid)
        except InvalidState:  # a concurrent delivery released it
            return _current_answer(_find(call_sid))
    if dial_status == CALLER_HUNG_UP:  # nobody is left to connect: the call ends, nobody pays
        _end_unconnected(call, lifecycle.CANCELED, answer=twilio_voice.hang_up())
        return twilio_voice.hang_up()
    return _ring_next(call, now)


def leg_status(call_sid: str, parent_call_sid: str | None, status: str, duration: int | None) -> None:
    """A status callback: the dialed leg's progress moves the call forward (never back), its completion bills
    it, and a leg nobody answered gives its hold back. A callback of an earlier attempt's leg changes
    nothing. Unknown calls are logged and left alone (Twilio would retry an error forever)."""
    call = _find(parent_call_sid or call_sid)
    if call is None:
        logger.info("Status callback for an unknown call", extra={"call_status": status})
        return
    leg_sid = call_sid if parent_call_sid else None
    index = _attempt_of(call, leg_sid)
    if index is None or index != len(call.attempts) - 1 or call.attempts[index].get("outcome") is not None:
        return  # an earlier attempt's leg, or one that has ended
    if status in NOT_ANSWERED:
        try:
            settlement.release_attempt(call, status, clock.now(), leg_sid)
        except InvalidState:  # the Dial's action released it first
            logger.info("Leg released meanwhile", extra={"call_id": call.call_id, "call_status": status})
        return
    target = LEG_PROGRESS.get(status)
    if target is None or call.seller_id is None or not lifecycle.moves_forward(call.status, target):
        return
    if target == lifecycle.COMPLETED:
        _bill(call, duration or 0, leg_sid)
        return
    try:
        with UnitOfWork() as work:
            now = clock.now()
            changes = {"updated_at": now, **_bound(call, leg_sid)}
            if target == lifecycle.IN_PROGRESS:  # answered: it counts in its profile's cap windows now
                changes.update(settlement.count_in_caps(work, call, now, when=terms.CONNECTED))
            move_status(work, call, target, changes)
    except TransactWriteError:  # another callback moved it meanwhile: it only ever moves forward
        logger.info("Status callback lost a race", extra={"call_id": call.call_id, "call_status": status})


def _attempt_of(call: CallModel, leg_sid: str | None) -> int | None:
    """The ring attempt a leg belongs to: the one that knows its CallSid, else the current one while it
    knows none (the first callback or action of a leg tells its CallSid); None for a leg we never rang."""
    attempts = call.attempts or []
    for index, attempt in enumerate(attempts):
        if leg_sid and attempt.get("leg_sid") == leg_sid:
            return index
    if attempts and (leg_sid is None or not attempts[-1].get("leg_sid")):
        return len(attempts) - 1
    return None


def _bound(call: CallModel, leg_sid: str | None) -> dict:
    """The call's attempts with the current one knowing its leg, when it did not yet."""
    if not leg_sid or not call.attempts or call.attempts[-1].get("leg_sid"):
        return {}
    return {"attempts": [*call.attempts[:-1], {**call.attempts[-1], "leg_sid": leg_sid}]}


def _find(call_sid: str) -> CallModel | None:
    try:
        return CallModel.get(call_id_of(call_sid), consistent_read=True)
    except CallModel.DoesNotExist:
        return None


def exchange_number(phone_number: str) -> NumberModel | None:
    """The ACTIVE number of ours that routes its calls to the exchange, if this is one."""
    number = _routed_number(phone_number)
    return number if number is not None and number.routing == number_rules.EXCHANGE else None


def _routed_number(phone_number: str) -> NumberModel | None:
    """The ACTIVE number of ours whose calls come to the exchange (routing exchange or rtb_pool)."""
    try:
        number = NumberModel.get(PhoneClaimModel.get(phone_number).number_id)
    except (PhoneClaimModel.DoesNotExist, NumberModel.DoesNotExist):
        return None
    if number.status != number_rules.ACTIVE or number.routing not in number_rules.EXCHANGE_ROUTED:
        return None
    return number


def _pool_call(call_sid: str, from_number: str, number: NumberModel, now: datetime) -> str:
    """A call at an RTB pool number: the caller's live reservation for this number rings its seller, the
    reservation's hold becoming the call's in the same commit, and the pinging buyer is the call's buyer.
    Without one (another caller, or too late), a polite goodbye, recorded with the admins' refusals."""
    reservation = rtb_pool.reservation_for_call(from_number, number.phone_number, now)
    if reservation is None:
        existing = _find(call_sid)  # Twilio repeating itself for a call that used the reservation
        if existing is not None:
            return _current_answer(existing)
        rtb_pool.refuse(number, from_number, "No live RTB reservation for this caller at this number", now)
        return twilio_voice.goodbye(REFUSED)
    call = CallModel(
        call_id=call_id_of(call_sid), source=lifecycle.TWILIO, call_sid=call_sid, owner_id=reservation.buyer_id,
        from_number=from_number, to_number=number.phone_number, direction=lifecycle.INBOUND,
        call_type=reservation.call_type, keywords=list(reservation.keywords or []),
        caller_country=phones.country_of(from_number), caller_state=reservation.state or phones.state_of(from_number),
        status=lifecycle.PENDING, owner_status=f"{reservation.buyer_id}#{lifecycle.PENDING}", attempts=[],
        created_at=now, updated_at=now)
    try:
        calls.save_new(call)
    except TransactWriteError:
        return _current_answer(_find(call_sid))
    price = int(reservation.price)
    profile = BidProfileModel(reservation.profile_id, seller_id=reservation.seller_id, criteria={}, bid_amount=price,
                              destination_number=reservation.destination_number, terms=reservation.terms,
                              active=True, created_at=reservation.created_at, updated_at=reservation.created_at)
    _, buyer_available = sellers.judged([], lambda _: 0, now, also_account=reservation.buyer_id)
    time_limit = _talk_limit(price, buyer_available)
    answer = _dial_twiml(call, profile.destination_number, time_limit, terms.records_calls(profile.terms))
    try:
        routing.dial(call, profile, now, time_limit, routing.RoutingLog(), previous_answer=answer,
                     adopt=lambda work: rtb_pool.stage_used(work, reservation, call.call_id))
    except (TransactWriteError, routing.SellerUnavailable, InvalidState):  # the reservation ended meanwhile
        logger.info("RTB reservation ended before its call was dialed", extra={"call_id": call.call_id})
        goodbye = twilio_voice.goodbye(REFUSED)
        _end_unconnected(call, lifecycle.FAILED, answer=goodbye)
        return goodbye
    return answer


def _ring_next(call: CallModel, now: datetime) -> str:
    """Ring the best eligible seller not tried yet, or say goodbye (nobody pays anything). The answer is
    recorded on the attempt that just ended, for a repeat of its Dial's action; the call's routing log
    says which profiles were considered and why they were passed over."""
    settings = get_settings()
    log = routing.RoutingLog(call.routing_log or ())
    if len(call.attempts or []) < settings.max_dial_attempts:
        considered, verdicts, buyer_available = _considered(call, now, log)
        for profile in log.takers(considered, verdicts):
            time_limit = _talk_limit(int(profile.bid_amount), buyer_available)
            answer = _dial_twiml(call, profile.destination_number, time_limit, terms.records_calls(profile.terms))
            try:
                routing.dial(call, profile, now, time_limit, log, previous_answer=answer)
            except routing.SellerUnavailable as unavailable:  # spent, budgeted or capped meanwhile: the next one
                log.skip(profile, unavailable.reason)
                continue
            return answer
    goodbye = twilio_voice.goodbye(NOBODY)
    _end_unconnected(call, answer=goodbye, log=log)
    return goodbye


def _considered(call: CallModel, now: datetime, log: list) -> tuple[list, Iterator, int | None]:
    """The profiles the ring tree considers, in order, each with why its terms pass it over (None: they
    do not; bid_profiles.considered_for, RTB bidders pinged and logged), never one of a seller this call
    already rang; the verdicts on
    the sellers of those not passed over, in the same order (services/sellers.py: suspended, cannot
    pay); and what the buyer's account may still spend."""
    tried = {attempt["seller_id"] for attempt in call.attempts or []}
    considered = bid_profiles.considered_for(calls.facts(call), call.owner_id, now, call_id=call.call_id, log=log,
                                             skip_sellers=tried)
    verdicts, buyer_available = sellers.judged([p for p, reason in considered if reason is None],
                                               lambda p: int(p.bid_amount), now, also_account=call.owner_id)
    return considered, verdicts, buyer_available


def _dial_twiml(call: CallModel, destination: str, time_limit: int, record: bool) -> str:
    """The <Dial> of one attempt; a recorded one tells a caller from an all-party-consent state first."""
    settings = get_settings()
    base = settings.public_base_url
    recording = {"recording_url": f"{base}{number_rules.RECORDING_CALLBACK_PATH}",
                 "disclosure": compliance_rules.recording_disclosure(call.caller_state)} if record else {}
    return twilio_voice.dial(
        destination, caller_id=call.from_number, action_url=f"{base}{number_rules.DIAL_ACTION_PATH}",
        status_url=f"{base}{number_rules.STATUS_CALLBACK_PATH}", ring_seconds=settings.ring_timeout_seconds,
        time_limit=time_limit, **recording)


def _talk_limit(price: int, buyer_available: int | None) -> int:
    """The talk time the buyer's payout plus what its account may still spend can pay for at the telephony
    rate: no call takes the buyer below its credit limit."""
    settings = get_settings()
    payout = lifecycle.payout(price, settings.take_rate_bps)
    return lifecycle.talk_seconds_affordable(payout, buyer_available or 0, settings.telephony_rate_per_minute,
                                             settings.max_call_seconds)


def _current_answer(call: CallModel) -> str:
    """What a repeated request gets: the same answer as the first, for the call as it now stands (the
    current attempt's Dial, with the time limit it was given)."""
    if call.status not in lifecycle.ENDED and call.destination_number and call.seller_id:
        attempt = call.attempts[-1]
        return _dial_twiml(call, call.destination_number, int(attempt["time_limit"]), bool(attempt.get("record")))
    return twilio_voice.goodbye(NOBODY)


def _bill(call: CallModel, talk_seconds: int, leg_sid: str | None = None) -> None:
    """Billed once: the Dial's action and the leg's completion both say it; the second finds it settled.
    Twilio ends a call at max_call_seconds, so a longer duration cannot be one it measured. A settlement
    that cannot finish raises (SETTLEMENT_CONTENDED): Twilio is answered an error, never a success."""
    if call.status in lifecycle.ENDED or call.seller_id is None:
        return
    try:
        settlement.settle(call, min(talk_seconds, get_settings().max_call_seconds), leg_sid)
    except InvalidState:  # the call's status changed meanwhile: settled (or ended) by the other one
        logger.info("Call already settled", extra={"call_id": call.call_id})


def _end_unconnected(call: CallModel, target: str | None = None, answer: str | None = None,
                     log: list | None = None) -> None:
    """Nobody took the call: it ends as no_answer (after ringing sellers) or failed (no seller to ring),
    or as `target`; the last attempt records the `answer` its Dial's action got, and the call its routing
    `log`."""
    if call.status in lifecycle.ENDED:
        return
    target = target or (lifecycle.NO_ANSWER if call.attempts else lifecycle.FAILED)
    changes: dict = {"updated_at": clock.now()}
    if log:
        changes["routing_log"] = list(log)
    if call.attempts and answer is not None:
        changes["attempts"] = [*call.attempts[:-1], {**call.attempts[-1], "answer": answer}]
    try:
        with UnitOfWork() as work:
            move_status(work, call, target, changes)
    except TransactWriteError:
        logger.info("Call ended meanwhile", extra={"call_id": call.call_id})

"""Inbound real-time bidding: a buyer with a caller on the line pings the exchange (`POST /rtb/pings`) before it
forwards the call, and is answered a bid (what it would earn, and a pool number to send the call to) or no bid.

- The ping is ranked as a call is routed: the same profiles (RTB bidders pinged too), every term of each, the
  sellers' standing and funds. The best seller that can take it is reserved: its price is held and counted
  against its profile's budget, with the reservation, in one commit.
- A reservation is keyed by the caller: a caller has one live reservation at most, so two live reservations
  never share a (pool number, caller) pair, and a repeat ping for the caller while it is live answers the same
  bid (Ringba's cached ping) and holds nothing more.
- The call that then arrives at the pool number from that caller before expiry is rung to the reserved seller
  (services/live_calls.py): the reservation's hold becomes the call's, in the commit that dials it. A call from
  another number, or after expiry, is refused and recorded. An expired reservation is released by the hold job
  (`release_expired`), or by the next ping for its caller, whichever comes first.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.config import get_settings
from chalicelib.domain import calls as lifecycle
from chalicelib.domain import phones, rtb, terms
from chalicelib.domain.errors import Forbidden, InvalidState, PaymentRequired
from chalicelib.domain.ledger import hold, release
from chalicelib.domain.numbers import RTB_POOL as ROUTING
from chalicelib.domain.routing import CallFacts
from chalicelib.observability import logger
from chalicelib.persistence import counters
from chalicelib.persistence.base import shard_key, shard_keys
from chalicelib.persistence.pagination import shard_pool
from chalicelib.persistence.ledger import post
from chalicelib.persistence.tables import (ComplianceRefusalModel, NumberModel, ProfileSpendModel, RtbPoolModel,
                                           RtbReservationModel)
from chalicelib.persistence.tables.rtb import POOL
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.services import bid_profiles, compliance, sellers

RESERVATION_LIFETIME = timedelta(days=7)  # kept this long after it was made (TTL), for whoever looks
MAX_SELLERS_TRIED = 5  # sellers a read found able that a reservation still finds unable: a bound on writes
REFUSED_CODE = "RTB_NO_RESERVATION"


def no_bid(reason: str) -> dict:
    return {"bid_amount": 0, "reject_reason": reason}


def ping(principal: Principal, body: dict) -> dict:
    """A bid for the caller, or no bid and why (domain/rtb.py's codes)."""
    now = clock.now()
    caller = phones.canonical_e164(body["from_number"]) or body["from_number"]
    existing = _reservation(caller)
    if existing is not None and existing.status == rtb.LIVE:
        if existing.expires_at > now:
            return _answer(existing, now) if existing.buyer_id == principal.user_id else no_bid(rtb.DUPLICATE)
        release_reservation(existing, now)  # expired, the hold job not there yet: released first
    if compliance.caller_blocked(caller):
        return no_bid(rtb.BLOCKED)
    pool = pool_numbers()
    if not pool:
        logger.warning("An RTB ping found no pool number")
        return no_bid(rtb.NO_MATCH)
    bid_id = str(uuid.uuid4())
    facts = CallFacts(phones.country_of(caller), body.get("state") or phones.state_of(caller), body.get("call_type"),
                      tuple(body.get("keywords") or ()), verified=True, caller=caller)
    considered = bid_profiles.considered_for(facts, principal.user_id, now, call_id=bid_id, zip_code=body.get("zip"))
    eligible = [profile for profile, reason in considered if reason is None]
    prices = {profile.profile_id: int(profile.bid_amount) for profile in eligible}
    verdicts, _ = sellers.judged(eligible, lambda p: prices[p.profile_id], now)
    reasons = [reason for _, reason in considered]
    verdict_of = iter(verdicts)
    tried = 0
    for profile in eligible:
        _, reason = next(verdict_of)
        if reason is not None:
            reasons.append(reason)
            continue
        if tried == MAX_SELLERS_TRIED:
            break
        tried += 1
        reservation = _new(bid_id, principal.user_id, caller, profile, facts, rtb.pool_number_for(caller, pool), now)
        try:
            return _answer(_reserve(reservation, profile, now), now)
        except _Taken:  # a concurrent ping for the same caller reserved first: its answer
            found = _reservation(caller)
            if found is not None and found.status == rtb.LIVE and found.buyer_id == principal.user_id:
                return _answer(found, now)
            return no_bid(rtb.DUPLICATE)
        except _Unavailable as unavailable:
            reasons.append(unavailable.reason)
    return no_bid(rtb.reject_reason(reasons) if considered else rtb.NO_MATCH)


def _answer(reservation: RtbReservationModel, now: datetime) -> dict:
    return {"bid_id": reservation.bid_id, "bid_amount": int(reservation.bid_amount),
            "phone_number": reservation.pool_number,
            "expire_in_seconds": max(0, int((reservation.expires_at - now).total_seconds()))}


def _reservation(caller: str) -> RtbReservationModel | None:
    try:
        return RtbReservationModel.get(caller, consistent_read=True)
    except RtbReservationModel.DoesNotExist:
        return None


def _new(bid_id: str, buyer_id: str, caller: str, profile, facts: CallFacts, pool_number: str,
         now: datetime) -> RtbReservationModel:
    settings = get_settings()
    price = int(profile.bid_amount)
    kept_terms = {name: value for name, value in (profile.terms or {}).items() if name != "blocked_callers"}
    return RtbReservationModel(
        caller=caller, bid_id=bid_id, status=rtb.LIVE, buyer_id=buyer_id, pool_number=pool_number,
        profile_id=profile.profile_id, seller_id=profile.seller_id, price=price,
        bid_amount=lifecycle.payout(price, settings.take_rate_bps), destination_number=profile.destination_number,
        spend_key=bid_profiles.spend_key(profile.profile_id, now), terms=kept_terms or None,
        call_type=facts.call_type, keywords=list(facts.keywords) or None, state=facts.state, created_at=now,
        expires_at=now + timedelta(seconds=settings.rtb_bid_ttl_seconds), live_shard=shard_key(rtb.LIVE, caller),
        purge_at=now + RESERVATION_LIFETIME)


class _Taken(Exception):
    pass


class _Unavailable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reserve(reservation: RtbReservationModel, profile, now: datetime) -> RtbReservationModel:
    """The reservation, its price held from the seller and counted in its profile's budget: one commit."""
    price = int(reservation.price)
    budget = bid_profiles.budget_of(profile)
    work = UnitOfWork()
    work.save(reservation, condition=RtbReservationModel.caller.does_not_exist()
              | (RtbReservationModel.status != rtb.LIVE))
    spend = ProfileSpendModel(spend_key=reservation.spend_key)
    work.update(spend, actions=[ProfileSpendModel.spent.add(price), ProfileSpendModel.purge_at.set(now + timedelta(days=3))],
                condition=None if budget is None else
                ProfileSpendModel.spent.does_not_exist() | (ProfileSpendModel.spent <= budget - price))
    try:
        post(hold(f"rtb_hold:{reservation.bid_id}", reservation.seller_id, price,
                  f"RTB bid {reservation.bid_id}: price held until the call comes", reservation.bid_id),
             now, work, replay_ok=False)
    except PaymentRequired:
        raise _Unavailable(terms.CANNOT_PAY) from None
    except TransactWriteError as error:
        failed = failed_items(error)
        if reservation in failed:
            raise _Taken() from None
        if spend in failed:
            raise _Unavailable(terms.BUDGET) from None
        raise
    return reservation


def release_reservation(reservation: RtbReservationModel, now: datetime) -> bool:
    """An expired reservation ends: its price goes back to the seller, with its budget; once (conditional on
    it being live still: a call that used it meanwhile wins)."""
    work = UnitOfWork()
    work.update(reservation, actions=[RtbReservationModel.status.set(rtb.RELEASED), RtbReservationModel.live_shard.remove()],
                condition=(RtbReservationModel.status == rtb.LIVE) & (RtbReservationModel.bid_id == reservation.bid_id))
    if reservation.spend_key:
        work.update(ProfileSpendModel(spend_key=reservation.spend_key),
                    actions=[ProfileSpendModel.spent.add(-int(reservation.price))])
    try:
        post(release(f"rtb_release:{reservation.bid_id}", reservation.seller_id, int(reservation.price),
                     f"RTB bid {reservation.bid_id}: expired", reservation.bid_id), now, work, replay_ok=False)
    except TransactWriteError as error:
        if reservation in failed_items(error):
            return False
        raise
    except InvalidState:  # released already
        return False
    return True


def release_expired(now: datetime) -> int:
    """The hold job's part: every live reservation past its expiry released (the sparse `live` index, each
    shard from its oldest; never a scan)."""
    released = 0
    due = shard_pool().map(lambda shard: list(RtbReservationModel.live.query(
        shard, RtbReservationModel.expires_at <= now)), shard_keys(rtb.LIVE))  # every shard at once
    for listed_in_shard in due:
        for listed in listed_in_shard:
            found = _reservation(listed.caller)
            if found is not None and found.status == rtb.LIVE and found.expires_at <= now:
                released += release_reservation(found, now)
    return released


# --- the call at a pool number (services/live_calls.py rings the seller) ------------------------------

def reservation_for_call(caller: str, pool_number: str, now: datetime) -> RtbReservationModel | None:
    """The live reservation a call from `caller` to `pool_number` now may use, or None."""
    found = _reservation(caller)
    if found is None or found.status != rtb.LIVE or found.expires_at <= now or found.pool_number != pool_number:
        return None
    return found


def stage_used(work: UnitOfWork, reservation: RtbReservationModel, call_id: str) -> None:
    """The reservation's hold becomes the call's (the call keeps its price, budget day and seller): in the
    commit that dials the call, on condition that it is still live."""
    work.update(reservation, actions=[RtbReservationModel.status.set(rtb.USED), RtbReservationModel.call_id.set(call_id),
                                      RtbReservationModel.live_shard.remove()],
                condition=(RtbReservationModel.status == rtb.LIVE) & (RtbReservationModel.bid_id == reservation.bid_id))


def refuse(number: NumberModel, caller: str, reason: str, now: datetime) -> None:
    """A call at a pool number that no live reservation is for: recorded with the refusals of the number's
    owner (an admin), which admins see."""
    with UnitOfWork() as work:
        work.save(ComplianceRefusalModel(owner_id=number.owner_id, refusal_key=f"{now.isoformat()}#{uuid.uuid4()}",
                                         from_number=caller, to_number=number.phone_number, code=REFUSED_CODE,
                                         reason=reason, created_at=now))
        counters.add(work, counters.refusals(number.owner_id))


# --- the pool -----------------------------------------------------------------------------------------

def pool_numbers() -> list[str]:
    return [item.phone_number for item in RtbPoolModel.query(POOL)]


def stage_membership(work: UnitOfWork, number: NumberModel, in_pool: bool, now: datetime) -> None:
    """A number joins the pool (bought or changed to routing rtb_pool) or leaves it, with that change."""
    if in_pool:
        work.save(RtbPoolModel(pool=POOL, phone_number=number.phone_number, number_id=number.number_id,
                               owner_id=number.owner_id, added_at=now))
    else:
        work.delete(RtbPoolModel(pool=POOL, phone_number=number.phone_number))


def pool_view() -> list[dict]:
    """The pool's numbers, each with its live reservations (GET /admin/rtb/pool)."""
    now = clock.now()
    live: dict[str, list[dict]] = {}
    listed = shard_pool().map(lambda shard: [found.caller for found in RtbReservationModel.live.query(shard)],
                              shard_keys(rtb.LIVE))  # every shard at once
    for callers in listed:
        for found in RtbReservationModel.batch_get(callers) if callers else []:
            if found.status == rtb.LIVE:
                live.setdefault(found.pool_number, []).append({
                    "bid_id": found.bid_id, "caller": found.caller, "buyer_id": found.buyer_id,
                    "seller_id": found.seller_id, "profile_id": found.profile_id, "price": int(found.price),
                    "bid_amount": int(found.bid_amount), "expires_at": found.expires_at,
                    "expired": found.expires_at <= now})
    return [{"phone_number": item.phone_number, "number_id": item.number_id, "added_at": item.added_at,
             "reservations": live.get(item.phone_number, [])} for item in RtbPoolModel.query(POOL)]


def ensure_may_route(principal: Principal, routings: list[str | None]) -> None:
    """Only admins put numbers in the pool (routing rtb_pool): 403 for anyone else."""
    if ROUTING in routings and not principal.is_admin:
        raise Forbidden("Only admins may use routing rtb_pool", code="RTB_POOL_ADMINS_ONLY")

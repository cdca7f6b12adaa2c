"""Routing a call to the seller who takes it: the auction's winner, or without an auction the best
matching bid profile. The price is held from the seller and counted against the profile's daily
budget in the same transaction that routes the call, so neither can be overspent by calls routed at
the same time."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Iterator

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.config import get_settings
from chalicelib.domain import calls as lifecycle
from chalicelib.domain import routing, terms
from chalicelib.domain.auctions import OPEN
from chalicelib.domain.errors import Conflict, InvalidState, PaymentRequired, RateLimited, ValidationFailed
from chalicelib.domain.ledger import hold
from chalicelib.observability import HOLD_OPENED, logger, measure
from chalicelib.persistence import bid_shards, cap_counters, counters, holds
from chalicelib.persistence.calls import move_status
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.persistence.ledger import post
from chalicelib.persistence.tables import (AccountModel, AuctionModel, BidProfileModel, CallerBilledModel,
                                           CallModel, ProfileSpendModel)
from chalicelib.services import auctions, bid_profiles, calls, sellers


# Sellers found able by a read that a routing still finds unable when it holds the price (they spent or
# were budgeted meanwhile) before the call is left unrouted: a bound on one request's writes.
MAX_SELLERS_TRIED = 5


# The routing log keeps the first this many profiles passed over: ~120 bytes each on the call's item.
MAX_SKIPS_LOGGED = 100


class SellerUnavailable(Exception):
    """The seller about to take a call cannot: it cannot pay the price now, its profile's budget for the
    day is used up, or it reached a cap meanwhile. Whoever was routing takes the next one."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # a routing log's reason (domain/terms.py)


class RoutingLog(list):
    """Why a call went where it went: each profile considered, in order, with its outcome (routed, dialed,
    or skipped and why). Entries keep the profile's seller, so a seller is shown only its own."""

    @staticmethod
    def entry(profile: BidProfileModel, outcome: str, reason: str | None = None) -> dict:
        return {"profile_id": profile.profile_id, "seller_id": profile.seller_id, "outcome": outcome, "reason": reason}

    def skip(self, profile: BidProfileModel, reason: str) -> None:
        """Kept up to MAX_SKIPS_LOGGED (the call's item stays small however many profiles are passed over)."""
        entry = self.entry(profile, terms.SKIPPED, reason)
        skipped = sum(1 for logged in self if logged["outcome"] == terms.SKIPPED)
        if entry not in self and skipped < MAX_SKIPS_LOGGED:  # a ring tree considers a skipped profile again
            self.append(entry)

    def takers(self, considered: list[tuple[BidProfileModel, str | None]],
               verdicts: Iterator[tuple[BidProfileModel, str | None]]) -> Iterator[BidProfileModel]:
        """The considered profiles that may take the call, in order. Each one its terms pass over, or its
        seller's verdict does (`verdicts`: sellers.judged over those its terms let through, in the same
        order), is logged as skipped."""
        for profile, reason in considered:
            if reason is None:
                _, reason = next(verdicts)
            if reason is None:
                yield profile
            else:
                self.skip(profile, reason)

    def taken(self, profile: BidProfileModel, outcome: str) -> list[dict]:
        """The log as written when the call is routed or dialed to the profile (the log itself is left as
        it is: that write may fail)."""
        return [*self, self.entry(profile, outcome)]


def _no_bids() -> ValidationFailed:
    return ValidationFailed("No bids available for this call", code="NO_BIDS_AVAILABLE")


def route_call(principal: Principal, call_id: str) -> CallModel:
    """To the auction's winner, or without an auction to the best matching profile; a profile its terms
    rule out now (routing.passed_over), or whose seller is suspended, deactivated or cannot pay, is passed
    over for the next (the next valid bid, the next profile), so no bid can block the market. The call
    keeps its routing log, routed or not."""
    call = calls.buyers_call(principal, call_id)
    lifecycle.ensure_transition(call.status, lifecycle.QUEUED)
    now = clock.now()
    facts = calls.facts(call)
    log = RoutingLog()  # this routing's: an earlier one that routed nobody is replaced
    if call.auction_id:
        offers = _auction_offers(call, now)
        considered = bid_profiles.judged(offers, facts, now)
        same_auction = CallModel.auction_id == call.auction_id
    else:
        considered = bid_profiles.considered_for(facts, call.owner_id, now, call_id=call.call_id, log=log)
        offers = [(p, int(p.bid_amount)) for p, _ in considered]
        same_auction = CallModel.auction_id.does_not_exist()  # no auction was opened meanwhile
    if not considered:
        _keep_log(call, log)  # the RTB pings, if any
        raise _no_bids()
    prices = {profile.profile_id: price for profile, price in offers}
    eligible = [profile for profile, reason in considered if reason is None]
    verdicts, _ = sellers.judged(eligible, lambda p: prices[p.profile_id], now)
    tried = 0
    for profile in log.takers(considered, verdicts):
        if tried == MAX_SELLERS_TRIED:
            break
        tried += 1
        try:
            return _route(call, profile, prices[profile.profile_id], same_auction, now, log)
        except SellerUnavailable as unavailable:
            log.skip(profile, unavailable.reason)
    _keep_log(call, log)
    if not eligible:
        raise _no_bids()
    raise ValidationFailed("No bidder for this call can take it now", code="NO_BIDS_AVAILABLE")


def _keep_log(call: CallModel, log: RoutingLog) -> None:
    """An unrouted call keeps why (its buyer asks): written while it is still pending, else left."""
    if not log:
        return
    try:
        call.update(actions=[CallModel.routing_log.set(list(log))], condition=CallModel.status == lifecycle.PENDING)
    except UpdateError:
        logger.info("Routing log not kept: the call moved on", extra={"call_id": call.call_id})


def _auction_offers(call: CallModel, now: datetime) -> list[tuple[BidProfileModel, int]]:
    """The auction's valid bids, its winner first, each with its profile and price; an auction whose time
    is up closes now."""
    auction = AuctionModel.get(call.auction_id, consistent_read=True)
    if auction.decided_at is None:
        if auction.status == OPEN and auction.ends_at > now:
            raise Conflict("The call's auction is still open", code="AUCTION_OPEN")
        auction = auctions.close_auction(auction.auction_id, now)
    if not auction.winner:
        return []
    ordered = routing.auction_order(bid_shards.read_bids(auction),
                                    int(auction.reserve_price))
    profiles = {p.profile_id: p for p in BidProfileModel.batch_get({b.profile_id for b in ordered})}
    # A bid whose profile was deleted since is passed over.
    return [(profiles[b.profile_id], int(b.amount)) for b in ordered if b.profile_id in profiles]


def _route(call: CallModel, profile: BidProfileModel, price: int, same_auction, now: datetime,
           log: RoutingLog) -> CallModel:
    """The seeds' flow: the buyer routes its call (pending to queued). The call's payout pays its telephony
    first: only when it cannot pay a minute must the buyer's account afford the rest of that minute."""
    settings = get_settings()
    needed = lifecycle.balance_needed_for_a_minute(lifecycle.payout(price, settings.take_rate_bps),
                                                   settings.telephony_rate_per_minute)
    work = UnitOfWork()
    # Checked, not read.
    buyer_can_pay = work.condition_check(AccountModel, call.owner_id, condition=AccountModel.spendable >= needed) \
        if needed > 0 else None
    # A buyer holds no more sellers' money at once than MAX_OPEN_REPORTED_CALLS calls that never end.
    open_calls = counters.add_within(work, counters.open_reported_calls(call.owner_id), settings.max_open_reported_calls)

    def write_call(changes: dict) -> None:
        move_status(work, call, lifecycle.QUEUED,
                    {**changes, "routed_at": now, "routing_log": log.taken(profile, terms.ROUTED)}, condition=same_auction)

    due = lifecycle.reported_hold_due(now, settings.reported_call_ttl_hours)
    try:
        # A reported call counts in its profile's cap windows once routed, unless it counts on converting.
        return _hold_price(work, call, profile, price, now, due, f"call_hold:{call.call_id}", write_call,
                           count_now=terms.counts_on(profile.terms) == terms.CONNECTED)
    except TransactWriteError as error:
        failed = failed_items(error)
        if buyer_can_pay is not None and buyer_can_pay in failed:
            raise PaymentRequired("Neither the call's payout nor your balance can pay for its minutes",
                                  code="INSUFFICIENT_FUNDS") from None
        if open_calls in failed:
            raise RateLimited(f"You have {settings.max_open_reported_calls} routed calls that have not ended; "
                              "complete or end one first", code="TOO_MANY_OPEN_CALLS") from None
        raise


def dial(call: CallModel, profile: BidProfileModel, now: datetime, time_limit: int, log: RoutingLog,
         previous_answer: str | None = None, adopt: Callable[[UnitOfWork], None] | None = None) -> CallModel:
    """A live call rings the next seller of its ring tree for at most `time_limit` seconds of talk: the
    price is held as routing holds it, and the attempt is recorded. The first attempt routes the pending
    call; later ones follow a released one (queued, with no seller), and record on the released attempt
    the TwiML its Dial's action was answered (`previous_answer`: this dial). The payout pays for the
    minutes (the Dial's time limit), not the buyer's balance. `adopt`: the price is held already (an RTB
    reservation's), and `adopt(work)` hands that hold over to the call in the same commit."""
    attempt = len(call.attempts or [])
    price = int(profile.bid_amount)
    earlier = list(call.attempts or [])
    if earlier and previous_answer is not None:
        earlier[-1] = {**earlier[-1], "answer": previous_answer}
    attempts = [*earlier, {"seller_id": profile.seller_id, "profile_id": profile.profile_id, "price": price,
                           "destination_number": profile.destination_number, "time_limit": time_limit,
                           "leg_sid": None, "outcome": None, "started_at": now.isoformat(), "ended_at": None,
                           "record": terms.records_calls(profile.terms)}]
    due = lifecycle.live_hold_due(now, get_settings().ring_timeout_seconds, time_limit)

    work = UnitOfWork()

    def write_call(changes: dict) -> None:
        changes = {**changes, "attempts": attempts, "routing_log": log.taken(profile, terms.DIALED)}
        if call.status == lifecycle.PENDING:
            move_status(work, call, lifecycle.QUEUED, {**changes, "routed_at": now})
            return
        work.update(call, actions=[getattr(CallModel, name).set(value) if value is not None
                                   else getattr(CallModel, name).remove() for name, value in changes.items()],
                    condition=(CallModel.status == call.status) & CallModel.seller_id.does_not_exist())
        work.assign(call, changes)

    # A live call counts in its profile's cap windows once its seller answers (or once it converts).
    return _hold_price(work, call, profile, price, now, due, f"call_hold:{call.call_id}:{attempt}", write_call,
                       count_now=False, adopt=adopt)


def _caller_history(call: CallModel, profile: BidProfileModel, now: datetime) -> dict:
    """For a profile with a duplicate window: the call is a duplicate when its seller was billed for
    this caller within the window (routed, but not billable); otherwise the key its bill will write."""
    window = (profile.criteria or {}).get("duplicate_window_hours")
    if not window:
        return {}
    key = f"{profile.seller_id}#{call.from_number}"
    try:
        billed_at = CallerBilledModel.get(key, consistent_read=True).billed_at
    except CallerBilledModel.DoesNotExist:
        billed_at = None
    if billed_at is not None and billed_at > now - timedelta(hours=int(window)):
        return {"duplicate_caller": True}
    return {"caller_key": key}


def _hold_price(work: UnitOfWork, call: CallModel, profile: BidProfileModel, price: int, now: datetime,
                due: datetime, hold_key: str, write_call: Callable[[dict], None], count_now: bool,
                adopt: Callable[[UnitOfWork], None] | None = None) -> CallModel:
    """Hold `price` from the profile's seller, count it against the profile's daily budget and take one of
    its concurrent slots (and, `count_now`, count it in its cap windows; else check that they are below
    their caps), in the unit of work in which `write_call(changes)` gives the call its seller;
    SellerUnavailable when the seller cannot pay, the budget is used up or a cap is reached. The call
    keeps the profile's terms it is settled on, and joins the open holds, overdue at `due`. With `adopt`, the
    price was held and budgeted before (an RTB reservation): `adopt(work)` hands that over instead."""
    budget = None if adopt else bid_profiles.budget_of(profile)
    if budget is not None and budget < price:
        raise SellerUnavailable(terms.BUDGET)
    spend = ProfileSpendModel(spend_key=bid_profiles.spend_key(profile.profile_id, now))

    # An auction's winner may have no destination_number (a profile that bids in auctions only): the call
    # is routed to its seller all the same, with no number to ring.
    kept_terms = {name: value for name, value in (profile.terms or {}).items() if name != "blocked_callers"}
    seller = {"updated_at": now, "seller_id": profile.seller_id, "profile_id": profile.profile_id, "price": price,
              "spend_key": spend.spend_key, "terms": kept_terms or None,
              "concurrency_key": terms.concurrency_key(profile.profile_id), "cap_counted": count_now or None,
              **_caller_history(call, profile, now), **holds.opened(call.call_id, now, due)}
    if profile.destination_number:
        seller["destination_number"] = profile.destination_number

    write_call(seller)
    counters.add(work, counters.seller_calls(profile.seller_id))  # the call joins its seller's list
    caps = cap_counters.stage_routing(work, profile.profile_id, profile.terms, now, count_windows=count_now)
    within_budget = None if budget is None else \
        ProfileSpendModel.spent.does_not_exist() | (ProfileSpendModel.spent <= budget - price)
    if adopt is None:
        work.update(spend, actions=[ProfileSpendModel.spent.add(price),
                                    ProfileSpendModel.purge_at.set(now + timedelta(days=3))], condition=within_budget)
    try:
        if adopt is None:
            post(hold(hold_key, profile.seller_id, price, f"Call {call.call_id}: price held until it ends",
                      call.call_id), now, work, replay_ok=False)
        else:
            adopt(work)
            work.commit()
    except PaymentRequired:
        raise SellerUnavailable(terms.CANNOT_PAY) from None
    except TransactWriteError as error:
        failed = failed_items(error)
        if call in failed:
            raise InvalidState("The call changed state meanwhile; read it and try again") from None
        if spend in failed:
            raise SellerUnavailable(terms.BUDGET) from None
        reached = [cap for cap, item in caps.items() if item in failed]
        if reached:
            raise SellerUnavailable(terms.capped(reached[0])) from None
        raise
    measure(HOLD_OPENED)
    return call

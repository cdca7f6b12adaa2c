"""The exchange: bid profiles, calls, auctions, bids, routing and settlement."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.domain import calls as lifecycle
from chalicelib.domain import phones, routing
from chalicelib.domain.errors import Conflict, InvalidState, NotFound, PaymentRequired, ValidationFailed
from chalicelib.domain.ledger import call_settlement, hold, release
from chalicelib.domain.money import to_minor
from chalicelib.gateways import queues
from chalicelib.http import Principal
from chalicelib.persistence.db import configure, failed_conditions, failed_items, transact_write
from chalicelib.persistence.ledger import get_account, post
from chalicelib.persistence.models import (
    AuctionModel,
    BidModel,
    BidProfileModel,
    CallModel,
    ProfileSpendModel,
)
from chalicelib.persistence.pagination import Page, paginate
from chalicelib.services import compliance

OPEN, CLOSED = "open", "closed"


def _mine(item, owner_field: str, principal: Principal, not_found: NotFound):
    if getattr(item, owner_field) != principal.user_id and not principal.is_admin:
        raise not_found
    return item


def _get(model, key, not_found: Exception):
    configure()
    try:
        return model.get(key, consistent_read=True)
    except model.DoesNotExist:
        raise not_found from None


# --- bid profiles -----------------------------------------------------------------------------

def _profile_not_found() -> NotFound:
    return NotFound("Bid profile not found", code="BID_PROFILE_NOT_FOUND")


def _criteria(criteria: dict, current: dict | None = None) -> dict:
    """Stored criteria (max_budget in minor units). Given `current`, only the fields given change."""
    merged = {**(current or {}), **criteria}
    merged["geography"] = {**(current or {}).get("geography", {}), **criteria.get("geography", {})}
    if "max_budget" in criteria:
        budget = criteria["max_budget"]
        merged["max_budget"] = to_minor(budget) if budget is not None else None
    return merged


def create_profile(principal: Principal, body: dict) -> BidProfileModel:
    configure()
    now = clock.now()
    active = body.get("active", True)
    profile = BidProfileModel(
        profile_id=str(uuid.uuid4()), seller_id=principal.user_id, criteria=_criteria(body.get("criteria") or {}),
        bid_amount=to_minor(body["bid_amount"]), destination_number=body["destination_number"], active=active,
        active_key="ACTIVE" if active else None, created_at=now, updated_at=now)
    profile.save(condition=BidProfileModel.profile_id.does_not_exist())
    return profile


def get_profile(principal: Principal, profile_id: str) -> BidProfileModel:
    return _mine(_get(BidProfileModel, profile_id, _profile_not_found()), "seller_id", principal,
                 _profile_not_found())


def list_profiles(principal: Principal, page: int, limit: int, next_token: str | None) -> Page:
    configure()
    seller = principal.user_id

    def run(start_key, count):
        return BidProfileModel.by_seller.query(seller, scan_index_forward=False, last_evaluated_key=start_key,
                                               limit=count)

    return paginate(run, lambda: BidProfileModel.by_seller.count(seller), scope=f"profiles:{seller}",
                    page=page, limit=limit, next_token=next_token)


def update_profile(principal: Principal, profile_id: str, changes: dict) -> BidProfileModel:
    profile = get_profile(principal, profile_id)
    actions = [BidProfileModel.updated_at.set(clock.now())]
    if changes.get("criteria") is not None:
        actions.append(BidProfileModel.criteria.set(_criteria(changes["criteria"], profile.criteria)))
    if changes.get("bid_amount") is not None:
        actions.append(BidProfileModel.bid_amount.set(to_minor(changes["bid_amount"])))
    if changes.get("destination_number") is not None:
        actions.append(BidProfileModel.destination_number.set(changes["destination_number"]))
    if changes.get("active") is not None:
        actions.append(BidProfileModel.active.set(changes["active"]))
        actions.append(BidProfileModel.active_key.set("ACTIVE") if changes["active"]
                       else BidProfileModel.active_key.remove())
    profile.update(actions=actions)
    return profile


def delete_profile(principal: Principal, profile_id: str) -> None:
    get_profile(principal, profile_id).delete()


def _candidate(profile: BidProfileModel, spent_today: int) -> routing.Candidate:
    criteria = profile.criteria or {}
    budget = criteria.get("max_budget")
    return routing.Candidate(
        profile_id=profile.profile_id, seller_id=profile.seller_id, bid_amount=int(profile.bid_amount),
        created_at=profile.created_at, countries=tuple(criteria.get("geography", {}).get("countries") or ()),
        states=tuple(criteria.get("geography", {}).get("states") or ()),
        call_types=tuple(criteria.get("call_type") or ()),
        keywords=tuple(criteria.get("keywords") or ()),
        budget_left=None if budget is None else int(budget) - spent_today)


def _spend_key(profile_id: str, now: datetime) -> str:
    return f"{profile_id}#{now:%Y-%m-%d}"


def _spent_today(profile_ids: list[str], now: datetime) -> dict[str, int]:
    keys = [_spend_key(p, now) for p in profile_ids]
    return {s.spend_key.partition("#")[0]: int(s.spent) for s in ProfileSpendModel.batch_get(keys)}


# --- calls ------------------------------------------------------------------------------------

def _call_not_found() -> NotFound:
    return NotFound("Call not found", code="CALL_NOT_FOUND")


def _facts(call: CallModel) -> routing.CallFacts:
    return routing.CallFacts(call.caller_country, call.caller_state, call.call_type, tuple(call.keywords or ()))


def create_call(principal: Principal, body: dict) -> CallModel:
    configure()
    now = clock.now()
    compliance.check_call(principal.user_id, body["direction"], body["from_number"], body["to_number"], now)
    call = CallModel(
        call_id=str(uuid.uuid4()), owner_id=principal.user_id, from_number=body["from_number"],
        to_number=body["to_number"], direction=body["direction"], call_type=body.get("call_type"),
        keywords=body.get("keywords") or [], caller_country=phones.country_of(body["from_number"]),
        caller_state=phones.state_of(body["from_number"]), status=lifecycle.PENDING, created_at=now, updated_at=now)
    call.save(condition=CallModel.call_id.does_not_exist())
    return call


def get_call(principal: Principal, call_id: str) -> CallModel:
    """The buyer who brought it, the seller it was routed to, or an admin."""
    call = _get(CallModel, call_id, _call_not_found())
    if principal.user_id not in (call.owner_id, call.seller_id) and not principal.is_admin:
        raise _call_not_found()
    return call


def list_calls(principal: Principal, status: str | None, page: int, limit: int, next_token: str | None) -> Page:
    configure()
    owner = principal.user_id
    condition = (CallModel.status == status) if status else None

    def run(start_key, count):
        return CallModel.by_owner.query(owner, filter_condition=condition, scan_index_forward=False,
                                        last_evaluated_key=start_key, limit=count)

    return paginate(run, lambda: CallModel.by_owner.count(owner, filter_condition=condition),
                    scope=f"calls:{owner}:{status}", page=page, limit=limit, next_token=next_token)


def _transition(call: CallModel, target: str, extra: list | None = None) -> CallModel:
    """Conditional on the status we read: of two concurrent transitions only one applies."""
    lifecycle.ensure_transition(call.status, target)
    try:
        call.update(actions=[CallModel.status.set(target), CallModel.updated_at.set(clock.now()), *(extra or [])],
                    condition=CallModel.status == call.status)
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise InvalidState("The call changed state meanwhile; read it and try again") from None
    return call


def change_status(principal: Principal, call_id: str, target: str) -> CallModel:
    call = get_call(principal, call_id)
    if principal.user_id != call.owner_id and not principal.is_admin:
        raise _call_not_found()
    if target == lifecycle.QUEUED:
        raise InvalidState("A call is queued by routing it: POST /calls/{id}/route")
    if target == lifecycle.COMPLETED:
        raise InvalidState("A call is completed, and billed, by POST /calls/{id}/complete")
    lifecycle.ensure_transition(call.status, target)
    if call.price and target in lifecycle.UNDELIVERED:
        # Routed but never delivered: the price held from the seller goes back, with its daily budget.
        posting = release(f"call_release:{call.call_id}", call.seller_id, int(call.price),
                          f"Call {call.call_id}: {target}", call.call_id)
        return _end(call, posting, [CallModel.status.set(target)], give_back_budget=True)
    return _transition(call, target)


def route_call(principal: Principal, call_id: str) -> CallModel:
    """To the auction's winner; without an auction, to the best matching active bid profile. The price
    is held from the seller and counted against the profile's daily budget in the same transaction
    that routes the call, so neither can be overspent by calls routed at the same time."""
    call = _mine(get_call(principal, call_id), "owner_id", principal, _call_not_found())
    lifecycle.ensure_transition(call.status, lifecycle.QUEUED)
    now = clock.now()
    if get_account(call.owner_id).spendable < get_settings().telephony_rate_per_minute:
        raise PaymentRequired("Your balance cannot pay for the call's minutes", code="INSUFFICIENT_FUNDS")
    if call.auction_id:
        auction = AuctionModel.get(call.auction_id, consistent_read=True)
        if auction.status == OPEN:
            auction = close_auction(auction.auction_id, now) if auction.ends_at <= now else auction
        if auction.status == OPEN:
            raise Conflict("The call's auction is still open", code="AUCTION_OPEN")
        if not auction.winner:
            raise ValidationFailed("No bids available for this call", code="NO_BIDS_AVAILABLE")
        profile = _get(BidProfileModel, auction.winner["profile_id"], ValidationFailed(
            "The winning seller has deleted its bid profile", code="NO_BIDS_AVAILABLE"))
        seller_id, price = auction.winner["seller_id"], int(auction.winner["amount"])
        same_auction = CallModel.auction_id == call.auction_id
    else:
        profile = _instant_winner(call, now)
        seller_id, price = profile.seller_id, int(profile.bid_amount)
        same_auction = CallModel.auction_id.does_not_exist()  # no auction was opened meanwhile
    budget = (profile.criteria or {}).get("max_budget")
    budget_used_up = ValidationFailed("The winning seller's daily budget is used up", code="NO_BIDS_AVAILABLE")
    if budget is not None and int(budget) < price:
        raise budget_used_up
    spend = ProfileSpendModel(spend_key=_spend_key(profile.profile_id, now))

    def route(tx: TransactWrite) -> None:
        tx.update(call, actions=[
            CallModel.status.set(lifecycle.QUEUED), CallModel.updated_at.set(now), CallModel.seller_id.set(seller_id),
            CallModel.profile_id.set(profile.profile_id), CallModel.price.set(price),
            CallModel.destination_number.set(profile.destination_number), CallModel.routed_at.set(now),
            CallModel.spend_key.set(spend.spend_key),
        ], condition=(CallModel.status == lifecycle.PENDING) & same_auction)
        within_budget = None if budget is None else \
            ProfileSpendModel.spent.does_not_exist() | (ProfileSpendModel.spent <= int(budget) - price)
        tx.update(spend, actions=[ProfileSpendModel.spent.add(price),
                                  ProfileSpendModel.purge_at.set(now + timedelta(days=3))], condition=within_budget)

    try:
        post(hold(f"call_hold:{call.call_id}", seller_id, price, f"Call {call.call_id}: price held until it ends",
                  call.call_id), now, also=route, replay_ok=False)
    except PaymentRequired:
        raise PaymentRequired("The winning seller cannot pay for this call", code="INSUFFICIENT_FUNDS") from None
    except TransactWriteError as error:
        failed = failed_items(error)
        if call in failed:
            raise InvalidState("The call changed state meanwhile; read it and try again") from None
        if spend in failed:
            raise budget_used_up from None
        raise
    call.refresh(consistent_read=True)
    return call


def _instant_winner(call: CallModel, now: datetime) -> BidProfileModel:
    profiles = {p.profile_id: p for p in BidProfileModel.active_profiles.query("ACTIVE")}
    spent = _spent_today(list(profiles), now) if profiles else {}
    candidates = [_candidate(p, spent.get(p.profile_id, 0)) for p in profiles.values()]
    winner = routing.choose(candidates, _facts(call), buyer_id=call.owner_id)
    if winner is None:
        raise ValidationFailed("No bids available for this call", code="NO_BIDS_AVAILABLE")
    return profiles[winner.profile_id]


def complete_call(principal: Principal, call_id: str, duration: int) -> CallModel:
    """Bill the call once: the status change and the money are one transaction."""
    call = _mine(get_call(principal, call_id), "owner_id", principal, _call_not_found())
    lifecycle.ensure_transition(call.status, lifecycle.COMPLETED)
    settings = get_settings()
    billable = duration >= settings.billable_threshold_seconds
    price = int(call.price)  # in progress means routed, and routing set the price
    cost = lifecycle.telephony_cost(duration, settings.telephony_rate_per_minute) if billable else 0
    posting = call_settlement(f"call_settlement:{call.call_id}", buyer_id=call.owner_id, seller_id=call.seller_id,
                              price=price, take=lifecycle.platform_take(price, settings.take_rate_bps), cost=cost,
                              billable=billable, reference=call.call_id)
    return _end(call, posting, [
        CallModel.status.set(lifecycle.COMPLETED), CallModel.duration_seconds.set(duration), CallModel.cost.set(cost),
        CallModel.billable.set(billable), CallModel.completed_at.set(clock.now())], give_back_budget=not billable)


def _end(call: CallModel, posting, actions: list, give_back_budget: bool) -> CallModel:
    """End a routed call with its money (settlement or release) in one transaction, conditional on the
    status we read: a second ending, concurrent or not, moves no money and is INVALID_STATE."""
    now = clock.now()

    def write(tx: TransactWrite) -> None:
        tx.update(call, actions=[*actions, CallModel.updated_at.set(now)], condition=CallModel.status == call.status)
        if give_back_budget and call.spend_key:
            tx.update(ProfileSpendModel(spend_key=call.spend_key), actions=[ProfileSpendModel.spent.add(-int(call.price))])

    try:
        # The seller's price was held at routing and the telephony was delivered: no limit applies now.
        post(posting, now, enforce_limits=False, also=write, replay_ok=False)
    except TransactWriteError as error:
        if any(failed_conditions(error)):
            raise InvalidState("The call changed state meanwhile; read it and try again") from None
        raise
    call.refresh(consistent_read=True)
    return call


# --- auctions and bids --------------------------------------------------------------------------

def _auction_not_found() -> NotFound:
    return NotFound("Auction not found", code="AUCTION_NOT_FOUND")


def create_auction(principal: Principal, call_id: str, reserve_price, duration: int) -> AuctionModel:
    call = _mine(get_call(principal, call_id), "owner_id", principal, _call_not_found())
    if call.status != lifecycle.PENDING:
        raise InvalidState("Only a pending call can be auctioned")
    now = clock.now()
    auction = AuctionModel(
        auction_id=str(uuid.uuid4()), call_id=call.call_id, owner_id=call.owner_id,
        reserve_price=to_minor(reserve_price), status=OPEN, open_key="OPEN",
        ends_at=now + timedelta(seconds=duration), created_at=now)
    try:
        with transact_write() as tx:
            tx.save(auction, condition=AuctionModel.auction_id.does_not_exist())
            tx.update(call, actions=[CallModel.auction_id.set(auction.auction_id)],
                      condition=(CallModel.status == lifecycle.PENDING) & CallModel.auction_id.does_not_exist())
    except TransactWriteError as error:
        if any(failed_conditions(error)):
            raise Conflict("The call already has an auction", code="AUCTION_EXISTS") from None
        raise
    # Closes it at its end time; the sweeper catches any message that is lost.
    queues.send(queues.AUCTION_CLOSING, {"auction_id": auction.auction_id}, delay_seconds=duration)
    return auction


def auction_view(principal: Principal, auction_id: str) -> dict:
    """Anyone may see an auction (sellers need to, to bid); only its owner sees the bids."""
    auction = _get(AuctionModel, auction_id, _auction_not_found())
    view = {name: getattr(auction, name) for name in auction.get_attributes()}
    if auction.owner_id == principal.user_id or principal.is_admin:
        view["bids"] = list(BidModel.query(auction_id, consistent_read=True))
    return view


def complete_auction(principal: Principal, auction_id: str) -> dict:
    """The buyer closes early."""
    auction = _mine(_get(AuctionModel, auction_id, _auction_not_found()), "owner_id", principal,
                    _auction_not_found())
    close_auction(auction.auction_id, clock.now())
    return auction_view(principal, auction_id)


def close_auction(auction_id: str, now: datetime) -> AuctionModel:
    """Close exactly once, with the winner among every bid placed: the closing write is conditional
    on the auction being open and on its bid counter being what it was before we read the bids, so a
    bid that lands meanwhile makes us read again, and a second closer (message, sweeper, buyer)
    finds it closed."""
    configure()
    while True:
        auction = AuctionModel.get(auction_id, consistent_read=True)
        if auction.status == CLOSED:
            return auction
        bids = list(BidModel.query(auction_id, consistent_read=True))
        best = routing.auction_winner([routing.StandingBid(b.seller_id, b.profile_id, int(b.amount), b.placed_at)
                                       for b in bids], int(auction.reserve_price))
        winner = {"seller_id": best.seller_id, "profile_id": best.profile_id, "amount": best.amount,
                  "placed_at": best.placed_at.isoformat()} if best else None
        try:
            auction.update(actions=[
                AuctionModel.status.set(CLOSED), AuctionModel.open_key.remove(), AuctionModel.closed_at.set(now),
                AuctionModel.winner.set(winner) if winner else AuctionModel.winner.remove(),
            ], condition=(AuctionModel.status == OPEN) & (AuctionModel.bid_count == auction.bid_count))
            return auction
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise  # otherwise: closed by someone else, or a new bid arrived: look again


def close_if_due(auction_id: str, now: datetime) -> bool:
    """The delayed SQS message: close at the end time (a message that comes early is sent again)."""
    auction = AuctionModel.get(auction_id, consistent_read=True)
    if auction.status == CLOSED:
        return False
    if auction.ends_at > now:
        remaining = min(900, max(1, int((auction.ends_at - now).total_seconds() + 0.999)))
        queues.send(queues.AUCTION_CLOSING, {"auction_id": auction_id}, delay_seconds=remaining)
        return False
    close_auction(auction_id, now)
    return True


def sweep_auctions(now: datetime) -> int:
    """Scheduled: close every open auction past its end whose message was lost."""
    configure()
    due = [a.auction_id for a in AuctionModel.open_auctions.query("OPEN", AuctionModel.ends_at <= now)]
    for auction_id in due:
        close_auction(auction_id, now)
    return len(due)


def place_bid(principal: Principal, auction_id: str, amount) -> BidModel:
    """One conditional transaction: the auction is open (and counts the bid) and this seller's
    standing bid, if any, is lower. Validation reads the auction, its call and the seller's profiles."""
    configure()
    now = clock.now()
    auction = _get(AuctionModel, auction_id, _auction_not_found())
    if auction.status != OPEN or auction.ends_at <= now:
        raise Conflict("The auction is closed", code="AUCTION_CLOSED")
    minor = to_minor(amount)
    if minor < int(auction.reserve_price):
        raise ValidationFailed("Bid is below the reserve price", code="BID_TOO_LOW")
    call = CallModel.get(auction.call_id)
    profiles = [p for p in BidProfileModel.by_seller.query(principal.user_id) if p.active]
    matching = [p for p in profiles if routing.matches(_candidate(p, 0), _facts(call))]
    if not matching:
        raise ValidationFailed("You have no active bid profile matching this call", code="NO_MATCHING_PROFILE")
    within = [p for p in matching if (p.criteria or {}).get("max_budget") is None
              or minor <= int(p.criteria["max_budget"])]
    if not within:
        raise ValidationFailed("Bid exceeds your profile's max_budget", code="BUDGET_EXCEEDED")
    profile = max(within, key=lambda p: int(p.bid_amount))
    bid = BidModel(auction_id=auction_id, seller_id=principal.user_id, bid_id=str(uuid.uuid4()),
                   profile_id=profile.profile_id, amount=minor, placed_at=now)
    try:
        with transact_write() as tx:
            tx.update(auction, actions=[AuctionModel.bid_count.add(1)],
                      condition=(AuctionModel.status == OPEN) & (AuctionModel.ends_at > now))
            tx.save(bid, condition=BidModel.seller_id.does_not_exist() | (BidModel.amount < minor))
    except TransactWriteError as error:
        # DynamoDB's item order: puts (the bid) before updates (the auction).
        not_higher, auction_closed = (failed_conditions(error) + [False, False])[:2]
        if auction_closed:
            raise Conflict("The auction is closed", code="AUCTION_CLOSED") from None
        if not_higher:
            raise ValidationFailed("A re-bid must be higher than your standing bid", code="BID_TOO_LOW") from None
        raise
    return bid


def list_bids(principal: Principal, page: int, limit: int, next_token: str | None) -> Page:
    configure()
    seller = principal.user_id

    def run(start_key, count):
        return BidModel.by_seller.query(seller, scan_index_forward=False, last_evaluated_key=start_key, limit=count)

    return paginate(run, lambda: BidModel.by_seller.count(seller), scope=f"bids:{seller}",
                    page=page, limit=limit, next_token=next_token)

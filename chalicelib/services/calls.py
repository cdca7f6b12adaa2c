"""Calls a buyer brings: created compliant, listed, moved along their lifecycle, completed."""
from __future__ import annotations

import uuid

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.domain import accounts
from chalicelib.domain import calls as lifecycle
from chalicelib.domain import phones, routing
from chalicelib.domain.errors import Conflict, InvalidState, NotFound
from chalicelib.persistence import counters
from chalicelib.persistence.calls import move_status
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.persistence.tables import EVERYTHING, CallModel
from chalicelib.persistence.base import shard_keys
from chalicelib.persistence.pagination import Page, paginate_index, paginate_shards
from chalicelib.services import compliance, settlement
from chalicelib.services.access import fetch, listed_user, owned


def not_found() -> NotFound:
    return NotFound("Call not found", code="CALL_NOT_FOUND")


def facts(call: CallModel) -> routing.CallFacts:
    """What the call states, for matching it to bid profiles."""
    return routing.CallFacts(call.caller_country, call.caller_state, call.call_type, tuple(call.keywords or ()),
                             verified=call.source == lifecycle.TWILIO, caller=call.from_number)


def create_call(principal: Principal, body: dict) -> CallModel:
    now = clock.now()
    compliance.check_call(principal.user_id, body["direction"], body["from_number"], body["to_number"], now)
    call = CallModel(
        call_id=str(uuid.uuid4()), owner_id=principal.user_id, from_number=body["from_number"],
        to_number=body["to_number"], direction=body["direction"], call_type=body.get("call_type"),
        keywords=body.get("keywords") or [], caller_country=phones.country_of(body["from_number"]),
        caller_state=phones.state_of(body["from_number"]), status=lifecycle.PENDING,
        owner_status=f"{principal.user_id}#{lifecycle.PENDING}", created_at=now, updated_at=now)
    return save_new(call)


def save_new(call: CallModel) -> CallModel:
    """A new (pending) call, counted in its buyer's lists; TransactWriteError if its id exists."""
    with UnitOfWork() as work:
        work.save(call, condition=CallModel.call_id.does_not_exist())
        counters.add(work, counters.calls(call.owner_id))
        counters.add(work, counters.calls(call.owner_id, lifecycle.PENDING))
        counters.add_to_all(work, counters.ALL_CALLS)
    return call


def get_call(principal: Principal, call_id: str) -> CallModel:
    """The buyer who brought it, the seller it was routed to, or an admin."""
    call = fetch(CallModel, call_id, not_found())
    if principal.user_id not in (call.owner_id, call.seller_id) and not principal.is_admin:
        raise not_found()
    return call


def shown(principal: Principal, call: CallModel) -> CallModel:
    """The call as its reader may see it: a seller that is neither its buyer nor an admin sees only its own
    attempts of a live call's ring tree and its own profiles' entries of the routing log, never its
    rivals' (a copy: the call read is left as it is)."""
    if principal.user_id == call.owner_id or principal.is_admin or not (call.attempts or call.routing_log):
        return call
    copy = CallModel.from_raw_data(call.serialize())
    copy.attempts = [a for a in call.attempts or () if a.get("seller_id") == principal.user_id]
    copy.routing_log = [e for e in call.routing_log or () if e.get("seller_id") == principal.user_id]
    return copy


def buyers_call(principal: Principal, call_id: str) -> CallModel:
    """A call its buyer (or an admin) may move along: one created through the API. A call Twilio carried
    is driven by Twilio's callbacks alone (the provider is the truth): 409."""
    call = owned(get_call(principal, call_id), "owner_id", principal, not_found())
    if call.source == lifecycle.TWILIO:
        raise Conflict("This call is carried by the telephony provider: its callbacks move it along",
                       code="CALL_DRIVEN_BY_TELEPHONY")
    return call


def list_calls(principal: Principal, status: str | None, page: int, limit: int, next_token: str | None,
               user_id: str | None = None) -> Page:
    """A buyer's calls; a seller's are the calls routed to it; an admin sees a named user's, or everyone's."""
    user = listed_user(principal, user_id)
    if user is None:
        return _all_calls(status, page, limit, next_token)
    if user.account_type == accounts.SELLER:
        listed = _sellers_calls(user.user_id, status, page, limit, next_token)
        listed.items = [shown(principal, call) for call in listed.items]
        return listed
    owner = user.user_id
    index, key = (CallModel.by_owner_status, f"{owner}#{status}") if status else (CallModel.by_owner, owner)
    return paginate_index(index, key, lambda: counters.value(counters.calls(owner, status)),
                          scope=f"calls:{owner}:{status}", page=page, limit=limit, next_token=next_token)


def _sellers_calls(seller: str, status: str | None, page: int, limit: int, next_token: str | None) -> Page:
    """Through the seller's index, its total a counter; a status filters that index."""
    return paginate_index(CallModel.by_seller, seller, lambda: counters.value(counters.seller_calls(seller)),
                          condition=None if status is None else CallModel.status == status,
                          scope=f"seller_calls:{seller}:{status}", page=page, limit=limit, next_token=next_token)


def _all_calls(status: str | None, page: int, limit: int, next_token: str | None) -> Page:
    """Every call, newest first (admins); a status filters the index."""
    return paginate_shards(CallModel.everything, shard_keys(EVERYTHING), lambda: counters.value_of_all(counters.ALL_CALLS),
                           condition=None if status is None else CallModel.status == status,
                           scope=f"all_calls:{status}", page=page, limit=limit, next_token=next_token)


def change_status(principal: Principal, call_id: str, target: str) -> CallModel:
    call = buyers_call(principal, call_id)
    if target == lifecycle.QUEUED:
        raise InvalidState("A call is queued by routing it: POST /calls/{id}/route")
    if target == lifecycle.COMPLETED:
        raise InvalidState("A call is completed, and billed, by POST /calls/{id}/complete")
    lifecycle.ensure_transition(call.status, target)
    if call.price and target in lifecycle.UNDELIVERED:
        return settlement.release_undelivered(call, target)
    return _transition(call, target)


def complete_call(principal: Principal, call_id: str, duration: int) -> CallModel:
    """Bill the call once: the status change and the money are one transaction."""
    call = buyers_call(principal, call_id)
    lifecycle.ensure_transition(call.status, lifecycle.COMPLETED)
    return settlement.settle(call, duration)


def _transition(call: CallModel, target: str) -> CallModel:
    """Conditional on the status we read: of two concurrent transitions only one applies."""
    try:
        with UnitOfWork() as work:
            move_status(work, call, target, {"updated_at": clock.now()})
    except TransactWriteError as error:
        if call in failed_items(error):
            raise InvalidState("The call changed state meanwhile; read it and try again") from None
        raise
    return call

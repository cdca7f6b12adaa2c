"""The number store: search Twilio's stock, and manage the numbers a buyer owns."""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.config import get_settings
from chalicelib.domain import numbers as rules
from chalicelib.domain.errors import Conflict, NotFound, field_error
from chalicelib.domain.money import CURRENCY
from chalicelib.gateways import twilio
from chalicelib.persistence.unit_of_work import UnitOfWork
from chalicelib.persistence import counters
from chalicelib.persistence.tables import EVERYTHING, NumberModel, PhoneClaimModel, SearchCacheModel, UserStatsModel
from chalicelib.persistence.base import shard_keys
from chalicelib.persistence.pagination import Page, paginate_index, paginate_shards
from chalicelib.services import analytics, rtb_pool
from chalicelib.services.access import listed_user

SEARCH_CACHE_SECONDS = 300


def search(country_code: str, kind: str, area_code: str | None, contains: str | None, limit: int) -> list[dict]:
    """Twilio's available numbers (cached 5 minutes), less those already held on the exchange."""
    now = clock.now()
    key = hashlib.sha256(json.dumps([country_code, kind, area_code, contains, limit]).encode()).hexdigest()
    try:
        cached = SearchCacheModel.get(key)
        results = cached.results if cached.expires_at > now else None
    except SearchCacheModel.DoesNotExist:
        results = None
    if results is None:
        try:
            results = twilio.search(country_code, kind, area_code, contains, limit)
        except twilio.TwilioCallFailed as failure:
            if failure.failure.code == 20404:  # Twilio has no such number type in that country
                raise field_error("type", "NUMBER_TYPE_NOT_OFFERED",
                                  f"No {kind.replace('_', '-')} numbers are sold in {country_code}") from None
            raise failure.product_error() from None
        expires = now + timedelta(seconds=SEARCH_CACHE_SECONDS)
        SearchCacheModel(cache_key=key, results=results, expires_at=expires, purge_at=expires).save()
    taken = {claim.phone_number for claim in PhoneClaimModel.batch_get([r["phone_number"] for r in results])}
    setup, monthly = rules.PRICES[kind]
    pricing = {"monthly_price": monthly, "setup_price": setup, "currency": CURRENCY}  # seed 000's shape
    return [{**r, "capabilities": rules.capabilities_of(r.get("capabilities")), "number_type": kind,
             "country_code": r.get("iso_country") or country_code, "setup_price": setup, "monthly_price": monthly,
             "pricing": pricing}
            for r in results if r["phone_number"] not in taken]


def list_numbers(principal: Principal, status: str | None, digits: str | None, page: int, limit: int,
                 next_token: str | None, user_id: str | None = None) -> Page:
    """The caller's numbers; an admin's are a named user's, or everyone's."""
    user = listed_user(principal, user_id)
    if user is None:
        return _all_numbers(status, digits, page, limit, next_token)
    owner = user.user_id
    index, key = (NumberModel.by_owner_status, f"{owner}#{status}") if status else (NumberModel.by_owner, owner)

    def counted() -> int:
        stats = analytics.stats(owner)
        return int({None: stats.total_numbers, rules.ACTIVE: stats.active_numbers,
                    rules.RELEASED: stats.total_numbers - stats.active_numbers}[status])

    # A substring search has no counter: it counts the owner's numbers that match.
    return paginate_index(index, key, counted, condition=NumberModel.phone_number.contains(digits) if digits else None,
                          scope=f"numbers:{owner}:{status}:{digits}", page=page, limit=limit, next_token=next_token)


def _all_numbers(status: str | None, digits: str | None, page: int, limit: int, next_token: str | None) -> Page:
    """Every number, newest first (admins); a status or digits filter the index."""
    condition = None
    if status:
        condition = NumberModel.status == status
    if digits:
        contains = NumberModel.phone_number.contains(digits)
        condition = contains if condition is None else condition & contains
    return paginate_shards(NumberModel.everything, shard_keys(EVERYTHING),
                           lambda: counters.value_of_all(counters.ALL_NUMBERS), condition=condition,
                           scope=f"all_numbers:{status}:{digits}", page=page, limit=limit, next_token=next_token)


def get_number(principal: Principal, number_id: str) -> NumberModel:
    """Owner or admin; anyone else is told it does not exist."""
    try:
        number = NumberModel.get(number_id, consistent_read=True)
    except NumberModel.DoesNotExist:
        raise NotFound("Number not found", code="NUMBER_NOT_FOUND") from None
    if number.owner_id != principal.user_id and not principal.is_admin:
        raise NotFound("Number not found", code="NUMBER_NOT_FOUND")
    return number


def update_number(principal: Principal, number_id: str, changes: dict) -> NumberModel:
    """Twilio first, then our record: what we store is what Twilio does."""
    number = _active(get_number(principal, number_id))
    rtb_pool.ensure_may_route(principal, [changes.get("routing")])
    given_url = changes.get("voice_url")
    if given_url and changes.get("routing") == rules.EXCHANGE:
        raise field_error("voice_url", "VOICE_URL_WITH_EXCHANGE_ROUTING",
                          "A voice_url cannot be used with exchange routing: the exchange answers the calls")
    # A voice_url given means the calls go there: routing becomes custom.
    routing = changes.get("routing") or (rules.CUSTOM if given_url else number.routing)
    voice_url = None
    if routing == rules.CUSTOM:
        voice_url = changes["voice_url"] if "voice_url" in changes else (
            number.voice_url if number.routing == rules.CUSTOM else None)
        if not voice_url and changes.get("routing") == rules.CUSTOM:  # asked for, with nowhere to send calls
            raise field_error("voice_url", "VOICE_URL_REQUIRED", "A voice_url is required when routing is custom")
    target = rules.voice_target(routing, voice_url, get_settings().public_base_url)
    method = changes.get("voice_method") or number.voice_method
    friendly = changes.get("friendly_name") or number.friendly_name
    call_type = changes.get("call_type") or number.call_type
    try:
        twilio.configure(number.twilio_sid, friendly_name=friendly, voice_url=target or "", voice_method=method)
    except twilio.TwilioCallFailed as failure:
        raise failure.product_error() from None
    if rules.RTB_POOL in (routing, number.routing) and routing != number.routing:  # joins or leaves the pool
        with UnitOfWork() as work:
            rtb_pool.stage_membership(work, number, routing == rules.RTB_POOL, clock.now())
    number.update(actions=[
        NumberModel.friendly_name.set(friendly), NumberModel.routing.set(routing),
        NumberModel.voice_url.set(target) if target else NumberModel.voice_url.remove(),
        NumberModel.voice_method.set(method),
        NumberModel.call_type.set(call_type) if call_type else NumberModel.call_type.remove(),
        NumberModel.updated_at.set(clock.now()),
    ])
    return number


def release_number(principal: Principal, number_id: str) -> None:
    """Released at Twilio, kept here as history, and free to be bought again."""
    number = _active(get_number(principal, number_id))
    try:
        twilio.release(number.twilio_sid)
    except twilio.TwilioCallFailed as failure:
        if failure.failure.code != 20404:  # already gone at Twilio: finish releasing here
            raise failure.product_error() from None
    now = clock.now()
    with UnitOfWork() as work:
        work.update(number, actions=[NumberModel.status.set(rules.RELEASED),
                                     NumberModel.owner_status.set(f"{number.owner_id}#{rules.RELEASED}"),
                                     NumberModel.released_at.set(now),
                                     NumberModel.billing_key.remove(), NumberModel.updated_at.set(now)],
                    condition=NumberModel.status == rules.ACTIVE)
        work.delete(PhoneClaimModel(phone_number=number.phone_number),
                    condition=PhoneClaimModel.number_id == number.number_id)
        work.update(UserStatsModel(user_id=number.owner_id), actions=[UserStatsModel.active_numbers.add(-1)])
        if number.routing == rules.RTB_POOL:
            rtb_pool.stage_membership(work, number, False, now)


def _active(number: NumberModel) -> NumberModel:
    if number.status != rules.ACTIVE:
        raise Conflict("Number has been released", code="NUMBER_RELEASED")
    return number

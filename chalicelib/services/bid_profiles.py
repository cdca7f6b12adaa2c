"""Sellers' bid profiles: what calls they want, what they pay, and how much a day."""
from __future__ import annotations

import copy
import uuid
from datetime import datetime

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.config import get_settings
from chalicelib.domain import routing, rtb, signing, terms
from chalicelib.domain.urls import callback_url_problem
from chalicelib.domain.errors import Conflict, NotFound, field_error
from chalicelib.domain.money import to_minor
from chalicelib.persistence import cap_counters, counters, route_entries, seller_books
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.persistence.tables import BidProfileModel, ProfileSpendModel
from chalicelib.persistence.pagination import Page, paginate
from chalicelib.services.access import fetch, owned


def _not_found() -> NotFound:
    return NotFound("Bid profile not found", code="BID_PROFILE_NOT_FOUND")


TERMS = ("conversion_seconds", "schedule", "caps", "blocked_callers", "record_calls")


def _terms(body: dict, current: dict | None = None) -> dict:
    """Stored terms: those given in `body` replace the current ones (null removes one); a caps or schedule
    is stored as given, without its unset fields; blocked callers each once, in the order given."""
    stored = dict(current or {})
    for name in TERMS:
        if name not in body:
            continue
        value = body[name]
        if isinstance(value, dict):
            value = {key: item for key, item in value.items() if item is not None}
        if name == "blocked_callers" and value is not None:
            value = list(dict.fromkeys(value))
        if value is None:
            stored.pop(name, None)
        else:
            stored[name] = value
    return stored


def view(profile: BidProfileModel, usage: dict | None = None, with_secret: bool = False) -> dict:
    """The profile as the API shows it: its terms beside its criteria (conversion_seconds defaults to the
    platform's billable threshold), and `usage` when read. An RTB profile's signing secret is shown once, when
    it is made (`with_secret`)."""
    shown = {name: getattr(profile, name) for name in BidProfileModel.get_attributes()}
    if profile.rtb:
        shown["rtb"] = {name: value for name, value in profile.rtb.items() if name != "secret" or with_secret}
    stored = profile.terms or {}
    return {**shown, "conversion_seconds": terms.conversion_seconds(stored, get_settings().billable_threshold_seconds),
            "schedule": stored.get("schedule"), "caps": stored.get("caps"),
            "blocked_callers": stored.get("blocked_callers") or [], "record_calls": terms.records_calls(stored),
            "usage": usage}


def _criteria(criteria: dict, current: dict | None = None) -> dict:
    """Stored criteria (max_budget in minor units). Given `current`, only the fields given change."""
    merged = {**(current or {}), **criteria}
    merged["geography"] = {**(current or {}).get("geography", {}), **criteria.get("geography", {})}
    if "max_budget" in criteria:
        budget = criteria["max_budget"]
        merged["max_budget"] = to_minor(budget) if budget is not None else None
    return merged


# A profile, its route entries and its seller's book are written together, conditional on what was read:
# a write that lost a race reads again, this many times.
WRITE_ATTEMPTS = 5


def _changed_meanwhile() -> Conflict:
    return Conflict("The bid profile kept changing meanwhile; read it and try again", code="BID_PROFILE_CHANGED")


def _unchanged(profile: BidProfileModel):
    """The stored profile is still the one read."""
    if profile.revision is None:
        return BidProfileModel.profile_id.exists() & BidProfileModel.revision.does_not_exist()
    return BidProfileModel.revision == profile.revision


def _rtb(given: dict | None, current: dict | None = None) -> dict | None:
    """A bidding server as stored: its URL checked by the rule for users' servers (domain/urls.py), and the
    secret its pings are signed with (made once, kept when the server changes)."""
    if given is None:
        return None
    problem = callback_url_problem(given["url"], get_settings().allow_loopback_callbacks)
    if problem:
        raise field_error("rtb.url", "INVALID_URL", problem)
    secret = (current or {}).get("secret") or signing.new_secret("rtbsec_")
    return {"url": given["url"], "timeout_ms": given.get("timeout_ms") or rtb.DEFAULT_TIMEOUT_MS,
            "send_caller_id": bool(given.get("send_caller_id")), "secret": secret}


def create_profile(principal: Principal, body: dict) -> BidProfileModel:
    """A profile without bid_amount or destination_number bids in auctions only (routing.routable); one with
    `rtb` has its seller's bidding server name the price of each call (services/rtb.py)."""
    now = clock.now()
    bid_amount = body.get("bid_amount")
    profile = BidProfileModel(
        profile_id=str(uuid.uuid4()), seller_id=principal.user_id, criteria=_criteria(body.get("criteria") or {}),
        bid_amount=to_minor(bid_amount) if bid_amount is not None else None,
        destination_number=body.get("destination_number"), terms=_terms(body) or None, rtb=_rtb(body.get("rtb")),
        active=body.get("active", True), created_at=now, updated_at=now, revision=1)
    for _ in range(WRITE_ATTEMPTS):
        try:
            with UnitOfWork() as work:
                work.save(profile, condition=BidProfileModel.profile_id.does_not_exist())
                counters.add(work, counters.profiles(profile.seller_id))
                book = seller_books.stage(work, None, profile)
                later = route_entries.stage(work, None, profile)
        except TransactWriteError as error:
            if book in failed_items(error):
                continue  # another of the seller's profiles was written meanwhile
            raise
        route_entries.finish(profile, later)
        return profile
    raise _changed_meanwhile()


def get_profile(principal: Principal, profile_id: str) -> BidProfileModel:
    return owned(fetch(BidProfileModel, profile_id, _not_found()), "seller_id", principal, _not_found())


def list_profiles(principal: Principal, page: int, limit: int, next_token: str | None) -> Page:
    seller = principal.user_id

    def run(start_key, count):
        return BidProfileModel.by_seller.query(seller, scan_index_forward=False, last_evaluated_key=start_key,
                                               limit=count)

    found = paginate(run, lambda: counters.value(counters.profiles(seller)), scope=f"profiles:{seller}",
                     page=page, limit=limit, next_token=next_token)
    found.items = [view(profile) for profile in found.items]
    return found


def profile_with_usage(principal: Principal, profile_id: str) -> dict:
    """The profile and its calls in each cap window now (its four counters in one BatchGetItem)."""
    profile = get_profile(principal, profile_id)
    return view(profile, cap_counters.usage(profile, clock.now()))


def _changed(profile: BidProfileModel, changes: dict) -> BidProfileModel:
    """A copy of the profile with the changes made, as it will be stored."""
    after = BidProfileModel(**{name: copy.deepcopy(getattr(profile, name))
                               for name in BidProfileModel.get_attributes()})
    after.updated_at = clock.now()
    after.revision = (profile.revision or 0) + 1
    if changes.get("criteria") is not None:
        after.criteria = _criteria(changes["criteria"], profile.criteria)
    if changes.get("bid_amount") is not None:
        if profile.rtb and "rtb" not in changes:
            raise field_error("bid_amount", "RTB_WITH_BID_AMOUNT", "A profile with rtb has no bid_amount: its bidder names it")
        after.bid_amount = to_minor(changes["bid_amount"])
        after.rtb = None  # a static price replaces the bidding server
    if changes.get("rtb") is not None:
        after.rtb = _rtb(changes["rtb"], profile.rtb)
        after.bid_amount = None
    if changes.get("destination_number") is not None:
        after.destination_number = changes["destination_number"]
    if set(TERMS) & changes.keys():
        after.terms = _terms(changes, profile.terms) or None
    if changes.get("active") is not None:
        after.active = changes["active"]
        after.paused = None  # the seller's own word on it stands, and a resumption leaves it alone
    return after


def update_profile(principal: Principal, profile_id: str, changes: dict) -> BidProfileModel:
    """The profile and its route entries change together: entries move with the geography, copy the new
    bid, destination and criteria, and go when the profile is deactivated (route_entries.py)."""
    return _rewrite(lambda: get_profile(principal, profile_id), lambda before: _changed(before, changes))


def pause_sellers_profiles(seller_id: str) -> int:
    """A suspended or deactivated seller's active profiles leave the market at once (route entries and
    book), marked paused."""
    def paused(before: BidProfileModel) -> BidProfileModel:
        after = _changed(before, {"active": False})
        after.paused = True
        return after

    return _rewrite_sellers(seller_id, lambda p: p.active, paused)


def resume_sellers_profiles(seller_id: str) -> int:
    """The seller is active again: the profiles its suspension paused come back."""
    return _rewrite_sellers(seller_id, lambda p: p.paused and not p.active, lambda p: _changed(p, {"active": True}))


def _rewrite_sellers(seller_id: str, which, change) -> int:
    chosen = [p.profile_id for p in BidProfileModel.by_seller.query(seller_id) if which(p)]
    for profile_id in chosen:
        _rewrite(lambda: fetch(BidProfileModel, profile_id, _not_found()), change)
    return len(chosen)


def _rewrite(read, change) -> BidProfileModel:
    """`change(profile)` stored with the profile's route entries and its seller's book, conditional on
    the profile and the book being as read (read again after losing a race)."""
    for _ in range(WRITE_ATTEMPTS):
        before = read()
        after = change(before)
        try:
            with UnitOfWork() as work:
                work.save(after, condition=_unchanged(before))
                book = seller_books.stage(work, before, after)
                later = route_entries.stage(work, before, after)
        except TransactWriteError as error:
            if {after, book} & set(failed_items(error)):
                continue  # written meanwhile (or deleted: the next read says so)
            raise
        route_entries.finish(after, later)
        return after
    raise _changed_meanwhile()


def delete_profile(principal: Principal, profile_id: str) -> None:
    """The profile goes with its route entries."""
    for _ in range(WRITE_ATTEMPTS):
        profile = get_profile(principal, profile_id)
        try:
            with UnitOfWork() as work:
                work.delete(profile, condition=_unchanged(profile))
                counters.add(work, counters.profiles(profile.seller_id), -1)
                book = seller_books.stage(work, profile, None)
                route_entries.stage(work, profile, None)
            return
        except TransactWriteError as error:
            if not {profile, book} & set(failed_items(error)):
                raise
    raise _changed_meanwhile()


# --- what routing and bidding read ----------------------------------------------------------

def budget_of(profile: BidProfileModel) -> int | None:
    """The profile's daily max_budget in minor units; None for no cap."""
    budget = (profile.criteria or {}).get("max_budget")
    return None if budget is None else int(budget)


def candidate(profile: BidProfileModel, spent_today: int = 0, usage: dict | None = None,
              price: int | None = None) -> routing.Candidate:
    """The profile as routing judges it; `price` is what it would pay (default: its bid_amount)."""
    criteria = profile.criteria or {}
    budget = budget_of(profile)
    if price is None and profile.bid_amount is not None:
        price = int(profile.bid_amount)
    return routing.Candidate(
        profile_id=profile.profile_id, seller_id=profile.seller_id, bid_amount=price,
        created_at=profile.created_at, countries=tuple(criteria.get("geography", {}).get("countries") or ()),
        states=tuple(criteria.get("geography", {}).get("states") or ()),
        call_types=tuple(criteria.get("call_type") or ()),
        keywords=tuple(criteria.get("keywords") or ()),
        budget_left=None if budget is None else budget - spent_today,
        verified_only=bool(criteria.get("verified_only")), terms=profile.terms, usage=usage)


def spend_key(profile_id: str, now: datetime) -> str:
    return f"{profile_id}#{now:%Y-%m-%d}"


def spent_today(profile_ids: list[str], now: datetime) -> dict[str, int]:
    keys = [spend_key(p, now) for p in profile_ids]
    return {s.spend_key.partition("#")[0]: int(s.spent) for s in ProfileSpendModel.batch_get(keys)}


def considered_for(facts: routing.CallFacts, buyer_id: str, now: datetime, call_id: str | None = None,
                   log: list | None = None, skip_sellers: frozenset[str] | set[str] = frozenset(),
                   zip_code: str | None = None) -> list[tuple[BidProfileModel, str | None]]:
    """Every profile under the call's country and state keys (their route entries, which copy them: the
    profiles returned are built from their entries) that routing considers, in the order it tries them,
    each with why it is passed over (None: it may take the call). The RTB profiles that match the call
    (open, not blocking the caller, not the buyer's, not of `skip_sellers`) are pinged first, and those that
    bid are considered at their bid; each ping is added to `log`."""
    found = [p for p in route_entries.profiles_for(facts).values() if p.seller_id not in skip_sellers]
    profiles = [p for p in found if not p.rtb and routing.routable(p.bid_amount, p.destination_number)]
    bidders = offered([p for p in found if p.rtb and p.destination_number and p.seller_id != buyer_id], facts, now)
    if bidders:
        from chalicelib.services import rtb as outbound_rtb

        bids, pings = outbound_rtb.priced(bidders, facts, call_id, now, zip_code)
        profiles += bids
        if log is not None:
            log.extend(pings)
    return judged([(p, int(p.bid_amount)) for p in profiles], facts, now, buyer_id=buyer_id, ordered=True)


def judged(offers: list[tuple[BidProfileModel, int]], facts: routing.CallFacts, now: datetime,
           buyer_id: str | None = None, ordered: bool = False) -> list[tuple[BidProfileModel, str | None]]:
    """Each (profile, price) with why the profile may not take the call at that price now, or None. What
    that needs is read only for the profiles that match the call: today's spend of those with a budget
    and the cap counters of those with caps, both at once (one round trip of time). `ordered`: in routing
    order (else in the order given); the buyer's own profiles are left out."""
    matching_ones = [p for p, price in offers if routing.matches(candidate(p, price=price), facts)]
    budgeted = [p.profile_id for p in matching_ones if budget_of(p) is not None]
    capped = [p for p in matching_ones if terms.caps_of(p.terms)]
    spent, counts = route_entries.at_once((lambda: spent_today(budgeted, now)) if budgeted else None,
                                          (lambda: cap_counters.counts(capped, now)) if capped else None)
    spent, counts = spent or {}, counts or {}
    candidates = {p.profile_id: candidate(p, spent.get(p.profile_id, 0), counts.get(p.profile_id), price)
                  for p, price in offers}
    profiles = {p.profile_id: p for p, _ in offers}
    if ordered:
        return [(profiles[c.profile_id], reason)
                for c, reason in routing.considered(list(candidates.values()), facts, now, buyer_id)]
    return [(p, routing.passed_over(candidates[p.profile_id], facts, now)) for p, _ in offers
            if p.seller_id != buyer_id]


def offered(profiles: list[BidProfileModel], facts: routing.CallFacts, now: datetime) -> list[BidProfileModel]:
    """Those of a seller's (active) profiles an auctioned call is offered to: matching it, open now and not
    blocking its caller (caps and budgets are judged when the winner is routed)."""
    return [p for p in profiles if routing.matches(candidate(p), facts) and terms.is_open(p.terms, now)
            and not terms.blocks((p.terms or {}).get("blocked_callers"), facts.caller)]


def matching(profiles: list[BidProfileModel], facts: routing.CallFacts) -> list[BidProfileModel]:
    """Those of the (active) profiles that match a call."""
    return [p for p in profiles if routing.matches(candidate(p), facts)]

"""Instant routing's lookup table (RouteEntryModel): an active bid profile is copied under every
"<country or *>#<state or *>" key its geography targets, so a call reads the profiles that can match
it (its 4 keys) and not every active profile.

The entries change in the transaction that writes the profile: `stage` adds their puts and deletes
to it. Entries carry everything routing reads of a profile (seller, bid, destination, criteria with
max_budget, terms, created_at), so every write of the profile rewrites all of them.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable, TypeVar

from pynamodb.exceptions import TransactWriteError

from chalicelib.domain import phones, routing
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.persistence.tables import BidProfileModel, RouteEntryModel

if TYPE_CHECKING:  # imported when the first pool is made, not at cold start
    from concurrent.futures import ThreadPoolExecutor

T = TypeVar("T")

# DynamoDB takes up to 100 items in a transaction; the profile's own items (the profile, counters)
# are kept room for.
TRANSACTION_ITEMS = 100
RESERVED_ITEMS = 10


def keys_of(profile: BidProfileModel | None) -> set[str]:
    """The keys an active profile is found under; none for an inactive or absent one. A profile without a
    bid_amount or destination_number is listed too (auction.started finds it), and instant routing
    passes it over (routing.routable)."""
    if profile is None or not profile.active:
        return set()
    geography = (profile.criteria or {}).get("geography") or {}
    return routing.profile_keys(geography.get("countries") or (), geography.get("states") or (), phones.state_codes)


def entries_of(profile: BidProfileModel | None) -> dict[str, RouteEntryModel]:
    """The profile's entries, by key (at most 69: one per state, or per country, or the one wildcard)."""
    if profile is None:
        return {}
    return {key: RouteEntryModel(
        route_key=key, profile_id=profile.profile_id, seller_id=profile.seller_id, criteria=profile.criteria,
        bid_amount=profile.bid_amount, destination_number=profile.destination_number, terms=profile.terms,
        rtb=profile.rtb, created_at=profile.created_at, updated_at=profile.updated_at)
        for key in sorted(keys_of(profile))}


def stage(work: UnitOfWork, before: BidProfileModel | None, after: BidProfileModel | None) -> list[RouteEntryModel]:
    """Adds to `work`, which writes the profile from `before` (None: new) to `after` (None: deleted), the
    deletes of the entries `after` no longer has and the puts of all of its entries. Returns the puts
    that did not fit (only when a profile moves from many states to many countries, or back): `finish`
    writes them after the transaction. Meanwhile the profile is under fewer keys than it targets, never
    under one it does not, and every entry it has holds the new profile."""
    old, new = keys_of(before), entries_of(after)
    stale = sorted(old - new.keys())
    profile_id = (before or after).profile_id
    for key in stale:
        work.delete(RouteEntryModel(route_key=key, profile_id=profile_id))
    if len(stale) + len(new) <= TRANSACTION_ITEMS - RESERVED_ITEMS:
        kept, later = list(new.values()), []
    else:
        kept = [entry for key, entry in new.items() if key in old]
        later = [entry for key, entry in new.items() if key not in old]
    for entry in kept:
        work.save(entry)
    return later


def finish(profile: BidProfileModel, later: list[RouteEntryModel]) -> None:
    """Puts the entries `stage` left over, unless the profile was written again meanwhile (that write
    put its own entries)."""
    if not later:
        return
    same = BidProfileModel.revision == profile.revision
    try:
        with UnitOfWork() as work:
            work.update(profile, actions=[BidProfileModel.revision.set(profile.revision)], condition=same)
            for entry in later:
                work.save(entry)
    except TransactWriteError as error:
        if profile not in failed_items(error):
            raise


def profile_of(entry: RouteEntryModel) -> BidProfileModel:
    """The (active) profile an entry copies, as routing uses it; not read from its table."""
    return BidProfileModel(
        entry.profile_id, seller_id=entry.seller_id, criteria=entry.criteria, bid_amount=entry.bid_amount,
        destination_number=entry.destination_number, terms=entry.terms, rtb=entry.rtb, active=True,
        created_at=entry.created_at, updated_at=entry.updated_at)


@functools.cache
def _queries() -> ThreadPoolExecutor:
    """One pool per process (a warm Lambda reuses it): the call's keys are queried at once."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="route-keys")


def at_once(*reads: Callable[[], T] | None) -> list[T | None]:
    """Independent reads (None: nothing to read) sent together: one round trip of time."""
    wanted = [read for read in reads if read is not None]
    done = iter(_queries().map(lambda read: read(), wanted) if len(wanted) > 1 else [read() for read in wanted])
    return [None if read is None else next(done) for read in reads]


def profiles_for(call: routing.CallFacts) -> dict[str, BidProfileModel]:
    """The active profiles whose geography matches the call, by id: one Query per key of the call, sent
    together (the shared botocore client is thread-safe), so the lookup costs one round trip of time."""
    profiles: dict[str, BidProfileModel] = {}
    for entries in _queries().map(lambda key: list(RouteEntryModel.query(key)), routing.call_keys(call)):
        for entry in entries:
            profiles[entry.profile_id] = profile_of(entry)
    return profiles

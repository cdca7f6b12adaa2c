"""A bid profile's cap counters (CapCounterModel): its calls under way, and its calls in the clock hour,
day and month now, in its time zone (domain/terms.py). Routing adds to them in the transaction that
routes a call, each ADD conditional on the cap it counts against, so calls routed at once never exceed
a cap; a call's ending frees its concurrency slot in the transaction that ends it."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain import terms
from chalicelib.persistence.tables import CapCounterModel
from chalicelib.persistence.unit_of_work import UnitOfWork

USAGE_NAMES = {"concurrency": "concurrent", "hourly": "hour", "daily": "day", "monthly": "month"}


def _keys(profile_id: str, profile_terms: dict | None, now: datetime) -> dict[str, str]:
    return {"concurrency": terms.concurrency_key(profile_id), **terms.window_keys(profile_id, profile_terms, now)}


def counts(profiles: list, now: datetime) -> dict[str, dict[str, int]]:
    """Each profile's counts by cap ({"concurrency", "hourly", "daily", "monthly"}), in one BatchGetItem
    (for up to 25 profiles at a time: 100 keys)."""
    keys = {profile.profile_id: _keys(profile.profile_id, profile.terms, now) for profile in profiles}
    found = {item.counter_key: int(item.count or 0)
             for item in CapCounterModel.batch_get([key for by_cap in keys.values() for key in by_cap.values()])}
    return {profile_id: {cap: found.get(key, 0) for cap, key in by_cap.items()} for profile_id, by_cap in keys.items()}


def usage(profile, now: datetime) -> dict[str, int]:
    """As GET /bid-profiles/{id} shows it: {"concurrent", "hour", "day", "month"}."""
    return {USAGE_NAMES[cap]: count for cap, count in counts([profile], now)[profile.profile_id].items()}


def _below(cap: int | None):
    if cap is None:
        return None
    return CapCounterModel.count.does_not_exist() | (CapCounterModel.count < int(cap))


def stage_routing(work: UnitOfWork, profile_id: str, profile_terms: dict | None, now: datetime,
                  count_windows: bool) -> dict[str, CapCounterModel]:
    """Adds to `work`, which routes (or dials) a call to the profile: its concurrency +1, and its hour, day
    and month +1 when the call counts now (`count_windows`), each conditional on its cap; a window that
    counts later is checked against its cap only. Returns the items by cap, for failed_items."""
    caps = terms.caps_of(profile_terms)
    staged = {}
    for cap, key in _keys(profile_id, profile_terms, now).items():
        if cap == "concurrency" or count_windows:
            staged[cap] = CapCounterModel(counter_key=key)
            actions = [CapCounterModel.count.add(1)]
            if cap != "concurrency":
                actions.append(CapCounterModel.purge_at.set(terms.window_purge(cap, now)))
            work.update(staged[cap], actions=actions, condition=_below(caps.get(cap)))
        elif caps.get(cap) is not None:
            staged[cap] = work.condition_check(CapCounterModel, key, condition=_below(caps[cap]))
    return staged


def stage_count(work: UnitOfWork, profile_id: str, profile_terms: dict | None, now: datetime) -> None:
    """The call counts in the hour, day and month now (answered, or converted): after it was routed, so
    never refused."""
    for cap, key in terms.window_keys(profile_id, profile_terms, now).items():
        work.update(CapCounterModel(counter_key=key), actions=[CapCounterModel.count.add(1),
                                                               CapCounterModel.purge_at.set(terms.window_purge(cap, now))])


def stage_release(work: UnitOfWork, concurrency_key: str) -> None:
    """The call no longer takes one of the profile's concurrent slots."""
    work.update(CapCounterModel(counter_key=concurrency_key), actions=[CapCounterModel.count.add(-1)])

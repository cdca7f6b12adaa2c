"""Open holds: the calls whose seller's price is held, found through the sparse OpenHolds index.

A call joins the index when routing holds its price (the hold's attributes are written with the routing)
and leaves it when it ends (settled, released or expired: the attributes are removed in the same write).
A live call whose seller did not answer stays in it, holding nothing (no seller), until the next seller
is rung or it ends: its bound is then the Dial's action that should follow. The index is sharded by call
id, so no partition takes every routing; readers merge the shards.
"""
from __future__ import annotations

import hashlib
import heapq
from datetime import datetime
from itertools import islice
from typing import Any, Iterator

from chalicelib.persistence.tables import CallModel

SHARDS = 16
ATTRIBUTES = ("hold_shard", "held_since", "hold_due_at")


def opened(call_id: str, now: datetime, due: datetime) -> dict[str, Any]:
    """The attributes a routing writes with the hold: in the index from now, overdue at `due`."""
    shard = int(hashlib.sha256(call_id.encode()).hexdigest(), 16) % SHARDS
    return {"hold_shard": f"holds#{shard}", "held_since": now, "hold_due_at": due}


def closed() -> dict[str, None]:
    """The attributes an ending removes (a None is written as a REMOVE)."""
    return dict.fromkeys(ATTRIBUTES)


def oldest_first() -> Iterator[CallModel]:
    """Every call with an open hold, oldest first: the shards' queries (each oldest first) merged, read
    only as far as the caller iterates (O(open holds) at the most, never a scan)."""
    shards = [CallModel.open_holds.query(f"holds#{shard}") for shard in range(SHARDS)]
    return heapq.merge(*shards, key=lambda call: (call.held_since, call.call_id))


def first(count: int) -> list[CallModel]:
    return list(islice(oldest_first(), count))

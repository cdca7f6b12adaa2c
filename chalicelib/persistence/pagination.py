"""Page/limit pagination over DynamoDB queries, with an opaque, signed next_token cursor.

A page reads what it returns: `next_token` starts the query where the last page ended, and `total` is a
counter kept by the writes (persistence/counters.py), not a count. A page number without a cursor
skips the items before it, so it is allowed only while that skip is small (MAX_SKIP)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from typing import Any, Callable

from chalicelib.config import get_settings
from chalicelib.domain.errors import ValidationFailed

# run_query(start_key, limit) -> a PynamoDB ResultIterator over at most `limit` items.
QueryRunner = Callable[[dict | None, int], Any]
MAX_SKIP = 1_000  # items a page number may skip; further pages are reached with next_token


@dataclass
class Page:
    items: list
    page: int
    limit: int
    total: int
    next_token: str | None

    def pagination(self) -> dict:
        return {
            "page": self.page,
            "limit": self.limit,
            "total": self.total,
            "total_pages": math.ceil(self.total / self.limit) if self.total else 0,
            "next_token": self.next_token,
        }


def paginate(run_query: QueryRunner, read_total: Callable[[], int], *, scope: str, page: int, limit: int,
             next_token: str | None) -> Page:
    """`scope` names the listing (e.g. "entries:<account>"), so a cursor only works where it was made;
    `read_total` reads the listing's size (a counter)."""
    if next_token:
        page, start_key = _decode(next_token, scope)
    else:
        start_key = _skip(run_query, (page - 1) * limit)
    total = read_total()
    if start_key is None and page > 1:
        return Page([], page, limit, total, None)  # past the end
    results = run_query(start_key, limit)
    items = list(results)
    has_more = page * limit < total and bool(items)
    token = _encode(scope, page + 1, results.last_evaluated_key) if has_more else None
    return Page(items, page, limit, total, token)


def paginate_index(index: Any, key: str, counter: Callable[[], int], *, condition: Any = None, scope: str,
                   page: int, limit: int, next_token: str | None) -> Page:
    """One key of an index, newest first. Without a filter the total is `counter` (kept by the writes);
    with one, the page reads past what it skips and the total counts the key's matching items, which only
    filtered listings pay for."""
    def run(start_key, count):
        return index.query(key, scan_index_forward=False, filter_condition=condition, last_evaluated_key=start_key,
                           limit=count)

    def total() -> int:
        return counter() if condition is None else index.count(key, filter_condition=condition)

    return paginate(run, total, scope=scope, page=page, limit=limit, next_token=next_token)


def _skip(run_query: QueryRunner, count: int) -> dict | None:
    """The start key after the first `count` items (pages without a cursor)."""
    if count == 0:
        return None
    if count > MAX_SKIP:
        raise ValidationFailed(f"Pages beyond the first {MAX_SKIP:,} items are reached with next_token",
                               code="PAGE_TOO_DEEP")
    results = run_query(None, count)
    skipped = sum(1 for _ in results)
    return results.last_evaluated_key if skipped == count else None


def _signature(payload: bytes) -> str:
    key = get_settings().jwt_secret.encode()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()[:32]


def _encode(scope: str, page: int, start_key: dict | None) -> str | None:
    if start_key is None:
        return None
    payload = json.dumps({"s": scope, "p": page, "k": start_key}, separators=(",", ":")).encode()
    token = payload + b"." + _signature(payload).encode()
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def _decode(token: str, scope: str) -> tuple[int, dict]:
    invalid = ValidationFailed("Invalid next_token", code="INVALID_NEXT_TOKEN")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload, _, signature = raw.rpartition(b".")
        if not hmac.compare_digest(_signature(payload), signature.decode()):
            raise invalid
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise invalid from None
    if data.get("s") != scope or not isinstance(data.get("k"), dict) or not isinstance(data.get("p"), int):
        raise invalid
    return data["p"], data["k"]


def cursor(scope: str, page: int, position: dict) -> str | None:
    """A signed next_token for a listing that keeps its own position (e.g. the events feed's last seq)."""
    return _encode(scope, page, position)


def read_cursor(token: str, scope: str) -> tuple[int, dict]:
    """The page and position a next_token of `scope` carries (INVALID_NEXT_TOKEN otherwise)."""
    return _decode(token, scope)


# --- lists over shards ------------------------------------------------------------------------------


def paginate_shards(source: Any, hash_keys: list[str], counter: Callable[[], int], *, condition: Any = None,
                    scope: str, page: int, limit: int, next_token: str | None, newest_first: bool = True) -> Page:
    """One list over many keys of a table or index (`source`: a model or an index; `hash_keys`: its shards,
    e.g. "ALL#0" .. "ALL#15"), merged in the order of the range key (then of the item's keys), newest first
    by default. The shards are read at once, each a little more than its share of a page at a time, so a
    page reads about what it returns (plus a couple of items a shard) however deep it is. The next_token
    carries the position every shard resumes from: the last item given, in the merged order (each shard
    is read from its range key onwards, past the items at or before it). The total is `counter` (kept by
    the writes) or, with a filter, the shards' matching items counted."""
    if next_token:
        page, after = _decode(next_token, scope)
        if not isinstance(after.get("r"), str) or not isinstance(after.get("k"), list):
            raise ValidationFailed("Invalid next_token", code="INVALID_NEXT_TOKEN")
        cutoff, skip = (after["r"], *after["k"]), 0
    else:
        cutoff, skip = None, (page - 1) * limit
        if skip > MAX_SKIP:
            raise ValidationFailed(f"Pages beyond the first {MAX_SKIP:,} items are reached with next_token",
                                   code="PAGE_TOO_DEEP")
    shards = [_Shard(source, key, cutoff, condition, newest_first) for key in hash_keys]
    chunk = -(-(skip + limit) // len(shards)) + 1
    list(shard_pool().map(lambda shard: shard.fill(chunk), shards))
    items, last = [], None
    while len(items) < limit:
        heads = [(shard.order(), n) for n, shard in enumerate(shards) if shard.head(skip + limit - len(items))]
        if not heads:
            break
        last, best = max(heads) if newest_first else min(heads)
        item = shards[best].pop()
        if skip:
            skip -= 1
        else:
            items.append(item)
    total = counter() if condition is None else sum(source.count(key, filter_condition=condition) for key in hash_keys)
    has_more = bool(items) and page * limit < total
    token = _encode(scope, page + 1, {"r": last[0], "k": list(last[1:])}) if has_more and last else None
    return Page(items, page, limit, total, token)


class _Shard:
    """One key's items from a position on, read in chunks (the first from the position's range key)."""

    def __init__(self, source: Any, hash_key: str, cutoff: tuple | None, condition: Any, newest_first: bool):
        self.source, self.hash_key, self.condition, self.newest_first = source, hash_key, condition, newest_first
        self.cutoff, self.start, self.more = cutoff, None, True
        self.buffer: list = []
        model = getattr(source, "_model", source)
        schema = source._get_schema() if model is not source else None
        index_keys = [k["AttributeName"] for k in (schema or {}).get("key_schema", [])]
        range_name = next((k["AttributeName"] for k in (schema or {}).get("key_schema", []) if k["KeyType"] == "RANGE"),
                          None) or model._range_key_attribute().attr_name
        table_keys = [model._hash_key_attribute().attr_name] + (
            [model._range_key_attribute().attr_name] if model._range_key_attribute() else [])
        self.names = list(dict.fromkeys([range_name, *table_keys, *index_keys]))
        self.range_attribute = model.get_attributes()[range_name]

    def fill(self, count: int) -> None:
        if not self.more:
            return
        since = None
        if self.cutoff is not None:  # from the position's range key on (the items at it sorted out below)
            bound = self.range_attribute.deserialize(self.cutoff[0])
            since = self.range_attribute <= bound if self.newest_first else self.range_attribute >= bound
        results = self.source.query(self.hash_key, since, scan_index_forward=not self.newest_first,
                                    filter_condition=self.condition, last_evaluated_key=self.start, limit=count)
        self.buffer.extend(item for item in results if self._after_cutoff(item))
        self.start = results.last_evaluated_key
        self.more = self.start is not None

    def _after_cutoff(self, item: Any) -> bool:
        if self.cutoff is None:
            return True
        order = self._order(item)
        return order < self.cutoff if self.newest_first else order > self.cutoff

    def head(self, wanted: int) -> Any:
        while not self.buffer and self.more:
            self.fill(max(wanted, 2))
        return self.buffer[0] if self.buffer else None

    def _order(self, item: Any) -> tuple:  # the keys as stored: the sharded lists' range keys are strings
        serialized = item.serialize()
        return tuple(str(next(iter(serialized[name].values()))) for name in self.names)

    def order(self) -> tuple:
        return self._order(self.buffer[0])

    def pop(self) -> Any:
        return self.buffer.pop(0)


_executor = None


def shard_pool():
    """One small thread pool per process for reading shards in parallel (made on first use)."""
    global _executor
    if _executor is None:
        from concurrent.futures import ThreadPoolExecutor

        _executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="shards")
    return _executor

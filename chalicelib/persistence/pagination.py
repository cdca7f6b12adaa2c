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

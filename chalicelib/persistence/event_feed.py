"""Each user's event feed: the events that user may see, numbered without gaps (persistence/tables/events.py).

`append` is the only writer. It reads the feed's head (the last seq given out), then writes, in one
transaction, the head moved on by n on condition that it still says what was read, and the n events
after it. Two writers that read the same head cannot both commit: the loser reads again. So seqs go
1, 2, 3, ... with no gap, and an event is readable only once every event before it is: a reader that has
seen seq k and asks for what comes after k misses nothing, however many writers there are. (A time-ordered
key could not promise that: a writer that took its time first may commit last, behind a reader that has
moved past it.)

A unit's events for one user are appended once: a redelivered stream record finds its first event by id
(the by_event_id index, read consistently) and gets the seqs they were given the first time.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.persistence.tables import EventModel
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_conditions

FEED_LIFETIME = timedelta(hours=24)  # events can be read back for a day after they were committed
HEAD = 0
APPEND_ATTEMPTS = 25  # each failed attempt means another writer moved the head: the feed went on meanwhile


@dataclass(frozen=True)
class FeedEvent:
    seq: int
    event: dict[str, Any]  # {"type", "event_id", "occurred_at", "data"}


class FeedBusy(Exception):
    """The head kept moving under every attempt; the stream delivers the record again."""


def append(user_id: str, unit_id: str, events: list[dict[str, Any]], committed_at: datetime,
           head: int | None = None) -> list[int]:
    """Adds a unit's events (in order) to the end of a user's feed, once; answers their seqs. `head` is the
    feed's last seq if the caller has just read it (last_seqs), for the first attempt."""
    if not events:
        return []
    for _ in range(APPEND_ATTEMPTS):
        first = seq_of(user_id, events[0]["event_id"])
        if first is not None:  # appended already: one transaction gave them consecutive seqs
            return list(range(first, first + len(events)))
        last = last_seq(user_id) if head is None else head
        head = None  # a retry reads it again
        head = EventModel(user_id, HEAD)
        try:
            with UnitOfWork() as work:
                work.update(head, actions=[EventModel.last_seq.set(last + len(events))],
                            condition=EventModel.last_seq.does_not_exist() if last == 0
                            else EventModel.last_seq == last)
                for offset, event in enumerate(events, start=1):
                    work.save(EventModel(
                        user_id, last + offset, event_id=event["event_id"], type=event["type"],
                        occurred_at=event["occurred_at"], data=json.dumps(event["data"], separators=(",", ":")),
                        unit_id=unit_id, expires_at=committed_at + FEED_LIFETIME))
        except TransactWriteError as error:
            if any(failed_conditions(error)):
                continue  # another writer moved the head first
            raise
        return list(range(last + 1, last + 1 + len(events)))
    raise FeedBusy(f"the feed of {user_id} kept moving")


def last_seq(user_id: str) -> int:
    try:
        head = EventModel.get(user_id, HEAD, consistent_read=True, attributes_to_get=["last_seq"])
    except EventModel.DoesNotExist:
        return 0
    return int(head.last_seq or 0)


def last_seqs(user_ids: list[str]) -> dict[str, int]:
    """Many feeds' heads in one consistent BatchGetItem per 100 users (0 for a feed not started)."""
    heads = {user_id: 0 for user_id in user_ids}
    for head in EventModel.batch_get([(user_id, HEAD) for user_id in user_ids], consistent_read=True,
                                     attributes_to_get=["user_id", "last_seq"]):
        heads[head.user_id] = int(head.last_seq or 0)
    return heads


def seq_of(user_id: str, event_id: str) -> int | None:
    """The seq of one of the user's events (None when the user has no such event)."""
    for found in EventModel.by_event_id.query(user_id, EventModel.event_id == event_id, consistent_read=True,
                                              limit=1):
        return int(found.seq)
    return None


def after(user_id: str, seq: int, now: datetime, limit: int) -> tuple[list[FeedEvent], bool]:
    """Up to `limit` of the user's events after `seq` that have not expired, oldest first, and whether more
    follow. Expired items not yet removed by TTL are the oldest ones: the filter only ever drops a prefix."""
    results = EventModel.query(user_id, EventModel.seq > seq, filter_condition=EventModel.expires_at > now,
                               consistent_read=True, limit=limit + 1, page_size=limit + 1)
    found = [FeedEvent(int(item.seq), {"type": item.type, "event_id": item.event_id,
                                       "occurred_at": item.occurred_at, "data": json.loads(item.data or "{}")})
             for item in results]
    return found[:limit], len(found) > limit

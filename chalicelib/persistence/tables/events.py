"""The outbox and the users' event feeds (persistence/outbox.py and persistence/event_feed.py read and write
them).

- `outbox`: one item per committed unit of work that owes something: its events and its queued messages,
  written in the unit's own TransactWriteItems. Its DynamoDB stream (new images) is what publishes them
  (workers/outbox.py). Keyed by the unit's own id: no two requests write the same partition.
- `events`: each user's feed, the events that user may see, numbered 1, 2, 3, ... (`seq`) in the order
  they were added. Item seq 0 of a user is the feed's head: the last seq given out. The seq is assigned by
  the stream's handler, one conditional write of the head per unit and user, so a feed has no gaps and an
  item is readable only after every item before it. Items expire a day after they were committed.
"""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import KeysOnlyProjection, LocalSecondaryIndex

from chalicelib.persistence.base import BaseModel

NEW_IMAGE = "NEW_IMAGE"


class OutboxModel(BaseModel):
    """What one committed unit of work owes: events (with whom each is for) and queued messages, as JSON."""

    class Meta(BaseModel.Meta):
        stream_view_type = NEW_IMAGE  # the stream carries the item as written: the handler reads nothing back

    logical_name = "outbox"

    unit_id = UnicodeAttribute(hash_key=True)
    committed_at = UTCDateTimeAttribute()
    events = UnicodeAttribute(null=True)  # JSON list: domain/events.py's events, each with its "to"
    messages = UnicodeAttribute(null=True)  # JSON list: {"queue", "body", "due_at"} (a delay counts from the commit)
    purge_at = TTLAttribute()


class EventsById(LocalSecondaryIndex):
    """A user's events by event id (what a client names in after=): keys only, read consistently. Sparse:
    the head has no event id."""

    class Meta:
        index_name = "by_event_id"
        projection = KeysOnlyProjection()

    user_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)


class EventModel(BaseModel):
    """One event in one user's feed (seq >= 1), or the feed's head (seq 0, with last_seq)."""

    class Meta(BaseModel.Meta):
        pass

    logical_name = "events"

    user_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    last_seq = NumberAttribute(null=True)  # the head's: the highest seq of the feed
    event_id = UnicodeAttribute(null=True)
    type = UnicodeAttribute(null=True)
    occurred_at = UnicodeAttribute(null=True)  # as the event says it (ISO 8601)
    data = UnicodeAttribute(null=True)  # JSON
    unit_id = UnicodeAttribute(null=True)  # the outbox item it came from
    expires_at = TTLAttribute(null=True)  # the head never expires: seqs must not start again

    by_event_id = EventsById()

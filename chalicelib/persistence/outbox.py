"""The outbox: what a committed unit of work owes (its realtime events and its queued messages), written as
one item in the unit's own TransactWriteItems, so that it exists exactly when the change it describes does.
Nothing is sent after the commit: the outbox table's stream is read by workers/outbox.py, which publishes
each item (services/outbox.py). The table is declared in persistence/tables/events.py.

A message's delay (an auction's closing) counts from the commit: it is stored as the time it falls due, and
whoever sends it later sends it with what is left of the delay."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.persistence.tables import OutboxModel

# The stream keeps records 24 hours; the item stays as long, for anyone who has to replay one by hand.
OUTBOX_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class Message:
    queue: str
    body: dict[str, Any]
    due_at: datetime

    def delay_seconds(self, now: datetime) -> int:
        """What is left of its delay (SQS's limit is 900 s: a longer one is the receiver's to send again)."""
        return max(0, min(900, int((self.due_at - now).total_seconds() + 0.999)))


@dataclass(frozen=True)
class Owed:
    """One outbox item, as its stream record carries it."""

    unit_id: str
    committed_at: datetime
    events: list[dict[str, Any]]
    messages: list[Message]


def item(events: list[dict[str, Any]], messages: list[tuple[str, dict[str, Any], int]],
         now: datetime) -> OutboxModel | None:
    """The outbox item of a unit that owes these (None when it owes nothing)."""
    if not events and not messages:
        return None
    queued = [{"queue": queue, "body": body, "due_at": (now + timedelta(seconds=delay)).isoformat()}
              for queue, body, delay in messages]
    return OutboxModel(unit_id=str(uuid.uuid4()), committed_at=now,
                       events=json.dumps(events, separators=(",", ":")) if events else None,
                       messages=json.dumps(queued, separators=(",", ":")) if queued else None,
                       purge_at=now + OUTBOX_LIFETIME)


def from_image(image: dict[str, Any]) -> Owed:
    """An outbox item from a stream record's NewImage (DynamoDB's typed JSON)."""
    record = OutboxModel.from_raw_data(image)
    return Owed(record.unit_id, record.committed_at, json.loads(record.events or "[]"),
                [Message(m["queue"], m["body"], datetime.fromisoformat(m["due_at"]))
                 for m in json.loads(record.messages or "[]")])

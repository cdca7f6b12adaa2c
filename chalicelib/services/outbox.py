"""Publishing what a committed unit of work owes, from its outbox item (persistence/outbox.py), as the outbox
table's stream delivers it (workers/outbox.py; under `make run`, local/dispatcher.py reads moto's stream).

For each item, in this order:
1. its queued messages, sent to their queues (what is left of a delay counted from the commit, as it is
   when each is sent: an auction's closing published late is not delayed again); a debit's auto-recharge
   look only for an account now under its auto-recharge mark (one BatchGet for the item);
2. whom each event is for (services/events.recipients: its users, the matching sellers, the outbid seller);
3. each of those users' share, appended to their feed once (persistence/event_feed.py): that gives each
   event its seq in each feed, the same seqs when the record comes again;
4. each of those users' webhook endpoints that want an event, sent a delivery of it (services/webhooks.py);
5. the events, sent to the open connections of their users and of an auction's subscribers.

A failure anywhere raises: the stream delivers the record again, and every step is safe to repeat (the
feeds are appended once, a notification is written once by its worker (its id), a closing or a close
changes nothing the second time, and a client drops an event_id it has seen). Nothing is lost by a send
that fails, and a replayed request, which commits nothing, owes nothing.
"""
from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.domain.events import AUCTION
from chalicelib.domain.ledger import AUTO_RECHARGE_QUEUE
from chalicelib.gateways import queues
from chalicelib.persistence import event_feed
from chalicelib.persistence.ledger import under_recharge_mark
from chalicelib.persistence.outbox import Owed
from chalicelib.services import events, webhooks


def publish(owed: Owed) -> dict[str, int]:
    # A debit owes the auto-recharge worker a look; only accounts under their mark are worth the message.
    low = under_recharge_mark({m.body["account_id"] for m in owed.messages if m.queue == AUTO_RECHARGE_QUEUE})
    for message in owed.messages:
        if message.queue == AUTO_RECHARGE_QUEUE and message.body["account_id"] not in low:
            continue
        queues.send(message.queue, message.body, delay_seconds=message.delay_seconds(clock.now()))
    published = []
    shares: dict[str, list[dict[str, Any]]] = {}  # user -> their events of this unit, in order
    for stored in owed.events:
        event = {key: stored[key] for key in ("type", "event_id", "occurred_at", "data")}
        users = events.recipients(stored["to"])
        for user in users:
            shares.setdefault(user, []).append(event)
        published.append((event, users, stored["to"].get(AUCTION)))
    readers = list(shares)
    heads = event_feed.last_seqs(readers) if readers else {}
    appended = list(events.pool().map(
        lambda user: event_feed.append(user, owed.unit_id, shares[user], owed.committed_at, heads[user]), readers))
    webhooks.queue_deliveries(shares, owed.committed_at)  # the same events, to the users' own servers
    seq_of = {(user, event["event_id"]): seq for user, seqs in zip(readers, appended)
              for event, seq in zip(shares[user], seqs)}
    delivered = events.deliver([events.Addressed(event, {user: seq_of[(user, event["event_id"])] for user in users},
                                                 auction) for event, users, auction in published])
    return {"events": len(published), "feeds": len(readers), "messages": len(owed.messages), **delivered}

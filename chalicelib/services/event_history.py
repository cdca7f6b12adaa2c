"""What a user missed: their events of the last 24 hours after one they name, oldest first, each with its
seq (GET /events, and a socket's resume). Read from the user's feed (persistence/event_feed.py), where
seqs have no gaps and an event is readable only once every earlier one is: reading on from the last event
one has misses nothing. A balance.changed is shown with the account as it stands now, as it is live."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.domain import events as domain_events
from chalicelib.domain.errors import NotFound
from chalicelib.persistence import event_feed, pagination
from chalicelib.persistence.pagination import Page
from chalicelib.services import events as realtime


def list_events(principal: Principal, after: str | None, limit: int, next_token: str | None) -> Page:
    """A page of the caller's events after `after` (or all kept ones); next_token goes on from the page's last."""
    user_id, now, scope = principal.user_id, clock.now(), f"events:{principal.user_id}"
    if next_token:
        page, position = pagination.read_cursor(next_token, scope)
        start, base = int(position.get("seq", 0)), int(position.get("base", 0))
    else:
        page, start, base = 1, start_of(user_id, after), None
    found, more = event_feed.after(user_id, start, now, limit)
    if base is None:  # the listing's first page: where it starts (for its total)
        base = start if after or not found else found[0].seq - 1
    total = max(0, event_feed.last_seq(user_id) - base)
    token = pagination.cursor(scope, page + 1, {"seq": found[-1].seq, "base": base}) if more else None
    return Page(shown(user_id, found), page, limit, total, token)


def missed(user_id: str, after: str | None, now: datetime, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` events after `after`, as a socket is sent them, and whether more follow."""
    found, more = event_feed.after(user_id, start_of(user_id, after), now, limit)
    return shown(user_id, found), more


def start_of(user_id: str, after: str | None) -> int:
    """The seq to read after: the named event's (NotFound when the user has no such event kept)."""
    if after is None:
        return 0
    seq = event_feed.seq_of(user_id, after.lower())  # ids are stored as uuid4 writes them
    if seq is None:
        raise NotFound("No such event in the last 24 hours: read the current state, then list without after",
                       code="EVENT_NOT_FOUND")
    return seq


def shown(user_id: str, found: list[event_feed.FeedEvent]) -> list[dict[str, Any]]:
    envelopes = [domain_events.public(item.event, item.seq) for item in found]
    if any(envelope["type"] == domain_events.BALANCE_CHANGED for envelope in envelopes):
        standing = realtime.balances(user_id)  # one read, however many balance events
        for envelope in envelopes:
            if envelope["type"] == domain_events.BALANCE_CHANGED:
                envelope["data"] = {**envelope["data"], **standing}
    return envelopes

"""The realtime API's rules (domain/events.py): what a client may send, the events' shape, who was outbid."""
import json
from datetime import datetime, timezone

import pytest

from chalicelib.domain import events

AUCTION = "0d9f6a2e-5c1b-4f7a-9e3d-8b2c4a6f1e05"  # fixed: test ids must be the same on every xdist worker


@pytest.mark.parametrize("text, expected", [
    ('{"action": "ping"}', events.ClientMessage("ping")),
    ('{"action": "ping", "extra": 1}', events.ClientMessage("ping")),
    (json.dumps({"action": "subscribe", "auction_id": AUCTION}), events.ClientMessage("subscribe", AUCTION)),
    (json.dumps({"action": "unsubscribe", "auction_id": AUCTION.upper()}),
     events.ClientMessage("unsubscribe", AUCTION)),
])
def test_what_a_client_may_send(text, expected):
    assert events.parse_client_message(text) == expected


@pytest.mark.parametrize("text, code", [
    ("not json", "INVALID_JSON"),
    ("<script>alert(1)</script>", "INVALID_JSON"),
    ("[1]", "INVALID_MESSAGE"),
    ('"ping"', "INVALID_MESSAGE"),
    (None, "INVALID_MESSAGE"),
    ("{" + " " * 5000 + "}", "INVALID_MESSAGE"),
    ('{"action": "<b>dance</b>"}', "UNKNOWN_ACTION"),
    ("{}", "UNKNOWN_ACTION"),
    ('{"action": "subscribe"}', "INVALID_UUID"),
    ('{"action": "subscribe", "auction_id": 7}', "INVALID_UUID"),
    ('{"action": "subscribe", "auction_id": "<img src=x onerror=alert(1)>"}', "INVALID_UUID"),
    ('{"action": "subscribe", "auction_id": "{%s}"}' % AUCTION, "INVALID_UUID"),
])
def test_anything_else_is_an_error_that_never_echoes_the_input(text, code):
    with pytest.raises(events.ClientMessageError) as refused:
        events.parse_client_message(text)
    message = refused.value.as_message()
    assert message["type"] == "error" and message["code"] == code and set(message) == {"type", "code", "message"}
    assert "<" not in message["message"] and "dance" not in message["message"]


def test_an_event_has_its_four_fields_and_a_derived_event_keeps_one_id_for_every_delivery():
    now = datetime(2026, 11, 30, 15, tzinfo=timezone.utc)
    event = events.event(events.BID_PLACED, {"amount": "2.00"}, now)
    assert set(event) == {"type", "event_id", "occurred_at", "data"} and event["occurred_at"] == now.isoformat()
    assert events.derived_id(event["event_id"], "bid.outbid") == events.derived_id(event["event_id"], "bid.outbid")
    assert events.derived_id(event["event_id"], "bid.outbid") != event["event_id"]
    assert events.call_event_type("completed") == events.CALL_COMPLETED
    assert events.call_event_type("no_answer") == events.CALL_STATUS_CHANGED


@pytest.mark.parametrize("standing, bidder, amount, outbid", [
    ({"a": 300, "b": 400}, "b", 400, "a"),  # b passes a
    ({"a": 300}, "a", 300, None),  # alone
    ({"a": 500, "b": 400}, "b", 400, None),  # below a: nobody passed
    ({"a": 400, "b": 400}, "b", 400, None),  # equal is not above
    ({"a": 300, "c": 350, "b": 400}, "b", 400, "c"),  # the best of the others
    ({}, "b", 100, None),
])
def test_the_seller_whose_standing_bid_was_passed(standing, bidder, amount, outbid):
    assert events.outbid_seller(standing, bidder, amount) == outbid

"""Every event arrives, and a client can catch up (issue 18): the outbox's stream handler, the users' feeds read
back (GET /events and a socket's resume), a replayed request, sockets that live no longer than their session,
and the caps on sockets. In-process, as tests/api/test_websocket.py runs the WebSocket API (its helpers)."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from tests.api.test_websocket import CALL_FROM_CA, Realtime, auction, seller, sockets  # noqa: F401 - fixture
from tests.helpers import PASSWORD, Api


@pytest.fixture
def rt(client, sockets, outbox):  # noqa: F811 - the fixture imported above
    return Realtime(client, sockets, outbox)


def events_of(api: Api, user: dict, **query) -> dict:
    """GET /events as the user; the whole answer (data and pagination)."""
    from urllib.parse import urlencode

    answer = api.get("/events" + (f"?{urlencode(query)}" if query else ""), token=user["token"])
    assert answer.status == 200, answer.body
    return answer.body


def credit(api: Api, admin: dict, user: dict, amount: str, key: str | None = None):
    return api.post(f"/admin/users/{user['user']['id']}/credits", {"amount": amount, "reason": "test funds"},
                    token=admin["token"], headers={"Idempotency-Key": key or uuid.uuid4().hex})


def login(api: Api, user: dict) -> dict:
    answer = api.post("/auth/login", {"email": user["email"], "password": PASSWORD})
    assert answer.status == 200, answer.body
    return {**user, "token": answer.data["tokens"]["access_token"], "refresh": answer.data["tokens"]["refresh_token"]}


# --- the stream's handler ---------------------------------------------------------------------------

def test_the_handler_publishes_each_item_once_per_delivery_and_a_redelivery_carries_the_same_ids(api, rt):
    from chalicelib.persistence import event_feed

    buyer = api.register("buyer")
    admin = api.admin()
    _, connection = rt.connect(buyer["token"])
    rt.fan_out()
    for amount in ("1.00", "2.00"):
        assert credit(api, admin, buyer, amount).status == 201
    records = rt.outbox.read()
    assert len(records) == 2  # one outbox item per committed request
    assert rt.outbox.hand_over(records) == {"batchItemFailures": []}
    first = rt.received(connection, "balance.changed")
    assert [(e["seq"], e["data"]["changes"]["balance"]) for e in first] == [(1, "1.00"), (2, "2.00")]
    assert rt.outbox.hand_over(records) == {"batchItemFailures": []}  # the stream delivering them again
    again = rt.received(connection, "balance.changed")[2:]
    assert [(e["event_id"], e["seq"]) for e in again] == [(e["event_id"], e["seq"]) for e in first]
    assert event_feed.last_seq(buyer["user"]["id"]) == 2  # appended once


def test_a_record_that_fails_is_named_and_handed_over_again_from_there(api, rt, monkeypatch, clock):
    from chalicelib.persistence import event_feed
    from chalicelib.persistence.outbox import from_image
    from chalicelib.services import outbox as publisher
    from chalicelib.workers import outbox as worker

    buyer = api.register("buyer")
    admin = api.admin()
    rt.fan_out()
    for amount in ("1.00", "2.00", "3.00"):
        credit(api, admin, buyer, amount)
    records = rt.outbox.read()
    failing = from_image(records[1]["dynamodb"]["NewImage"]).unit_id

    def publish(owed):  # SQS or API Gateway failing while the second item is published
        if owed.unit_id == failing:
            raise RuntimeError("unavailable")
        return publisher.publish(owed)

    monkeypatch.setattr(worker, "publish", publish)
    answer = rt.outbox.hand_over(records)
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
    assert event_feed.last_seq(buyer["user"]["id"]) == 1  # the first item; nothing after the failed one
    monkeypatch.setattr(worker, "publish", publisher.publish)
    assert rt.outbox.hand_over(records[1:]) == {"batchItemFailures": []}  # from the failed one on
    found, _ = event_feed.after(buyer["user"]["id"], 0, clock(), 10)
    assert [(item.seq, item.event["data"]["changes"]["balance"]) for item in found] == [
        (1, "1.00"), (2, "2.00"), (3, "3.00")]


def test_a_message_published_late_is_sent_with_what_is_left_of_its_delay(api, rt, clock):
    """An auction's closing is due at its end, counted from the commit: published after that, it is not
    delayed again (nor a minute later than it should be, as it would be counted from its publication)."""
    from chalicelib.gateways import queues

    buyer = api.register("buyer")
    auction(api, buyer)  # 60 seconds
    clock.advance(seconds=61)  # the stream's handler comes late
    rt.outbox.publish()
    sqs, url = queues._client(), queues.queue_url(queues.AUCTION_CLOSING)
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                    "ApproximateNumberOfMessagesDelayed"])
    assert counts["Attributes"] == {"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesDelayed": "0"}


# --- GET /events ------------------------------------------------------------------------------------

def test_events_are_listed_oldest_first_after_the_one_named_and_paged(api, rt):
    buyer, other = api.register("buyer"), api.register("buyer")
    admin = api.admin()
    for amount in ("1.00", "2.00", "3.00", "4.00", "5.00"):
        credit(api, admin, buyer, amount)
    credit(api, admin, other, "9.00")
    assert events_of(api, buyer)["data"] == []  # nothing is read back before the stream has published it
    rt.fan_out()

    listed = events_of(api, buyer)
    assert [(e["seq"], e["data"]["changes"]["balance"]) for e in listed["data"]] == [
        (1, "1.00"), (2, "2.00"), (3, "3.00"), (4, "4.00"), (5, "5.00")]
    assert listed["data"][-1]["data"]["balance"] == "15.00"  # the account as it stands now
    assert {e["type"] for e in listed["data"]} == {"balance.changed"}
    assert set(listed["data"][0]) == {"type", "event_id", "seq", "occurred_at", "data"}
    second = listed["data"][1]["event_id"]

    after = events_of(api, buyer, after=second)
    assert [e["seq"] for e in after["data"]] == [3, 4, 5] and after["pagination"]["total"] == 3

    first_page = events_of(api, buyer, after=second, limit=2)
    assert [e["seq"] for e in first_page["data"]] == [3, 4]
    assert first_page["pagination"] == {**first_page["pagination"], "page": 1, "limit": 2, "total": 3, "total_pages": 2}
    token = first_page["pagination"]["next_token"]
    last_page = events_of(api, buyer, limit=2, next_token=token)
    assert [e["seq"] for e in last_page["data"]] == [5] and last_page["pagination"]["next_token"] is None
    assert events_of(api, buyer, after=listed["data"][-1]["event_id"])["data"] == []  # up to date

    # Another user's event id is not the caller's: it says nothing about it.
    theirs = events_of(api, other)["data"][0]["event_id"]
    refused = api.get(f"/events?after={theirs}", token=buyer["token"])
    assert refused.status == 404 and refused.error["code"] == "EVENT_NOT_FOUND"
    assert api.get(f"/events?after={uuid.uuid4()}", token=buyer["token"]).status == 404
    assert api.get("/events?after=not-an-id", token=buyer["token"]).status == 400
    assert api.get(f"/events?limit=2&next_token={token}", token=other["token"]).status == 400  # not their cursor
    assert api.get("/events").status == 401


def test_events_are_kept_for_a_day(api, rt, clock):
    buyer = api.register("buyer")
    credit(api, api.admin(), buyer, "1.00")
    rt.fan_out()
    kept = events_of(api, buyer)["data"]
    assert len(kept) == 1
    clock.advance(hours=23, minutes=59)
    buyer = login(api, buyer)  # its access token expired meanwhile
    assert events_of(api, buyer)["data"] == kept
    clock.advance(minutes=2)
    assert events_of(api, buyer)["data"] == []  # past its day (TTL removes the item; it is not read meanwhile)
    credit(api, api.admin(), buyer, "2.00")
    rt.fan_out()
    assert [e["seq"] for e in events_of(api, buyer)["data"]] == [2]  # seqs never start again


def test_every_account_type_reads_its_own_events(api, rt):
    for user in (api.register("buyer"), api.register("seller")):
        assert events_of(api, user)["data"] == []
    admin = api.admin()
    assert api.get("/events", token=admin["token"]).status == 200


# --- resume -----------------------------------------------------------------------------------------

def test_a_reconnected_socket_resumes_with_what_it_missed_then_gets_new_events(api, rt):
    buyer = api.register("buyer")
    admin = api.admin()
    _, first = rt.connect(buyer["token"])
    credit(api, admin, buyer, "1.00")
    rt.fan_out()
    [seen] = rt.received(first, "balance.changed")
    rt.disconnect(first)
    for amount in ("2.00", "3.00"):  # missed while away
        credit(api, admin, buyer, amount)
    rt.fan_out()

    _, second = rt.connect(buyer["token"])
    sent = rt.exchange(second, json.dumps({"action": "resume", "after": seen["event_id"]}))
    assert [(m["type"], m.get("seq")) for m in sent] == [
        ("balance.changed", 2), ("balance.changed", 3), ("resumed", None)]
    resumed = sent[-1]
    assert resumed == {"type": "resumed", "after": seen["event_id"], "count": 2, "more": False,
                       "last_event_id": sent[1]["event_id"], "last_seq": 3}
    credit(api, admin, buyer, "4.00")
    rt.fan_out()
    assert rt.received(second, "balance.changed")[-1]["seq"] == 4  # then live, in the same numbering

    everything = rt.exchange(second, json.dumps({"action": "resume"}))  # without after: all of the day
    assert [m.get("seq") for m in everything] == [1, 2, 3, 4, None]
    nothing = rt.exchange(second, json.dumps({"action": "resume", "after": everything[3]["event_id"]}))
    assert nothing == [{"type": "resumed", "after": everything[3]["event_id"], "count": 0, "more": False,
                        "last_event_id": everything[3]["event_id"], "last_seq": None}]


def test_a_long_absence_resumes_in_steps_and_an_unknown_event_is_an_error(api, rt, monkeypatch):
    from chalicelib.services import sockets as socket_service

    monkeypatch.setattr(socket_service, "RESUME_LIMIT", 2)
    buyer = api.register("buyer")
    admin = api.admin()
    for amount in ("1.00", "2.00", "3.00"):
        credit(api, admin, buyer, amount)
    rt.fan_out()
    _, connection = rt.connect(buyer["token"])
    sent = rt.exchange(connection, json.dumps({"action": "resume"}))
    assert [m.get("seq") for m in sent] == [1, 2, None] and sent[-1]["more"] is True
    rest = rt.exchange(connection, json.dumps({"action": "resume", "after": sent[-1]["last_event_id"]}))
    assert [m.get("seq") for m in rest] == [3, None] and rest[-1]["more"] is False
    for body, code in (({"action": "resume", "after": str(uuid.uuid4())}, "EVENT_NOT_FOUND"),
                       ({"action": "resume", "after": "<b>x</b>"}, "INVALID_UUID")):
        reply = rt.send(connection, json.dumps(body))
        assert (reply["type"], reply["code"]) == ("error", code) and "<" not in reply["message"]


# --- a replayed request ----------------------------------------------------------------------------

def test_a_replayed_request_owes_nothing_again_and_loses_nothing(api, rt):
    """An Idempotency-Key replay answers the first result and commits nothing: no second outbox item, no
    second event, and the first request's event is there."""
    from chalicelib.persistence.tables import OutboxModel

    buyer = api.register("buyer")
    admin = api.admin()
    _, connection = rt.connect(buyer["token"])
    rt.fan_out()
    first = credit(api, admin, buyer, "7.00", key="replayed-credit")
    owed = rt.outbox.items()
    assert len(owed) == 1 and [e["type"] for e in owed[0].events] == ["balance.changed"]
    again = credit(api, admin, buyer, "7.00", key="replayed-credit")
    assert again.status == first.status == 201 and again.data == first.data
    assert rt.outbox.items() == []  # the replay wrote no outbox item
    rt.outbox.after = None
    rt.fan_out()
    paid = first.data["transaction_id"]
    assert [e["data"]["transaction_id"] for e in rt.received(connection, "balance.changed")] == [paid]
    assert [e["data"]["transaction_id"] for e in events_of(api, buyer)["data"]] == [paid]
    assert OutboxModel.get(owed[0].unit_id).events  # the first one's, kept for the day


# --- a socket lives no longer than its session -----------------------------------------------------

def _open(rt, user: dict) -> str:
    status, connection = rt.connect(user["token"])
    assert status == 200
    return connection


def test_logout_closes_the_sockets_of_that_session_only(api, rt):
    user = api.register("seller")
    other = login(api, user)
    mine, theirs = _open(rt, user), _open(rt, other)
    assert api.post("/auth/logout", {}, token=user["token"]).status in (200, 204)
    rt.fan_out()
    assert rt.sockets.closed == [mine] and theirs in rt.sockets.open


def test_a_password_change_closes_the_sockets_of_the_other_sessions(api, rt):
    user = api.register("buyer")
    elsewhere = login(api, user)
    here, there = _open(rt, user), _open(rt, elsewhere)
    changed = api.post("/auth/change-password", {"current_password": PASSWORD, "new_password": "N3w!Passw0rd-2026"},
                       token=user["token"])
    assert changed.status == 200 and changed.data["revoked_sessions"] == 1
    rt.fan_out()
    assert rt.sockets.closed == [there] and here in rt.sockets.open  # the session that changed it lives on


def test_refresh_token_reuse_closes_the_sessions_sockets(api, rt):
    user = login(api, api.register("buyer"))
    connection = _open(rt, user)
    assert api.post("/auth/refresh", {"refresh_token": user["refresh"]}).status == 200
    reused = api.post("/auth/refresh", {"refresh_token": user["refresh"]})
    assert reused.status == 401 and reused.error["code"] == "REFRESH_TOKEN_REUSED"
    rt.fan_out()
    assert rt.sockets.closed == [connection]


def test_a_session_evicted_by_a_newer_login_closes_its_sockets(api, rt, clock):
    from chalicelib.config import get_settings

    user = api.register("seller")  # its first session
    oldest = _open(rt, user)
    newest = None
    for _ in range(get_settings().max_active_sessions):  # one more than the limit in all: the oldest goes
        clock.advance(seconds=1)
        newest = login(api, user)
    kept = _open(rt, newest)
    rt.fan_out()
    assert rt.sockets.closed == [oldest] and kept in rt.sockets.open


def test_a_socket_closes_when_its_access_token_expires(api, rt, clock):
    from chalicelib.config import get_settings
    from chalicelib.services.events import CLOSE_EXPIRED

    user = api.register("buyer")
    connection = _open(rt, user)
    [owed] = rt.outbox.items()
    [closing] = owed.messages
    assert closing.body[CLOSE_EXPIRED]["connection_id"] == connection
    ttl = get_settings().access_token_ttl_seconds
    assert closing.due_at == clock() + timedelta(seconds=ttl)  # a message delayed to the token's expiry
    event = rt.client.events.generate_sqs_event(message_bodies=[json.dumps(closing.body)], queue_name="events")
    clock.advance(seconds=ttl - 1)
    rt.client.lambda_.invoke("deliver_events", event)  # early (a longer delay than SQS allows): waits again
    assert connection in rt.sockets.open and rt.send(connection, '{"action": "ping"}') == {"type": "pong"}
    clock.advance(seconds=1)
    rt.client.lambda_.invoke("deliver_events", event)
    assert rt.sockets.closed == [connection]


def test_a_message_on_a_socket_whose_token_expired_closes_it(api, rt, clock):
    from chalicelib.config import get_settings

    user = api.register("buyer")
    connection = _open(rt, user)
    clock.advance(seconds=get_settings().access_token_ttl_seconds)
    reply = rt.send(connection, json.dumps({"action": "resume"}))
    assert reply["code"] == "TOKEN_EXPIRED" and rt.sockets.closed == [connection]


# --- caps -------------------------------------------------------------------------------------------

def test_a_user_has_at_most_ten_sockets(api, rt):
    from chalicelib.persistence.connections import MAX_CONNECTIONS_PER_USER, ConnectionModel, of_users

    user = api.register("seller")
    opened = [_open(rt, user) for _ in range(MAX_CONNECTIONS_PER_USER)]
    status, refused = rt.connect(user["token"])
    assert status == 429 and refused not in rt.sockets.open
    with pytest.raises(ConnectionModel.DoesNotExist):
        ConnectionModel.get(refused)
    assert len(of_users([user["user"]["id"]])[user["user"]["id"]]) == MAX_CONNECTIONS_PER_USER
    rt.disconnect(opened[0])
    assert rt.connect(user["token"])[0] == 200  # a closed one makes room
    # One whose $disconnect never ran (its item is gone) is pruned from the user's set when it is full.
    ConnectionModel.get(opened[1]).delete()
    assert rt.connect(user["token"])[0] == 200
    assert rt.connect(user["token"])[0] == 429


def test_a_socket_sending_more_than_ten_messages_a_second_is_closed(api, rt, clock):
    from chalicelib.services.sockets import MAX_MESSAGES_PER_SECOND

    connection = _open(rt, api.register("buyer"))
    for _ in range(MAX_MESSAGES_PER_SECOND):
        assert rt.send(connection, '{"action": "ping"}') == {"type": "pong"}
    clock.advance(seconds=1)  # a new second: counted again
    for _ in range(MAX_MESSAGES_PER_SECOND):
        assert rt.send(connection, '{"action": "ping"}') == {"type": "pong"}
    from chalicelib.persistence.connections import get

    reply = rt.send(connection, '{"action": "ping"}')  # the eleventh in one second: told, then closed
    assert reply["code"] == "TOO_MANY_MESSAGES" and rt.sockets.closed == [connection] and get(connection) is None


# --- partition heat ---------------------------------------------------------------------------------

def test_no_outbox_or_feed_partition_is_written_by_every_request(api, rt, monkeypatch):
    """The outbox is keyed by each unit's own id, a feed by its user: requests of different users never write
    one partition of these tables (a key written by every request would cap the whole table's writes)."""
    from pynamodb.connection.base import Connection

    written: list[tuple[str, str]] = []  # (table, partition key) of every write to the two tables
    original = Connection._make_api_call

    def recording(self, operation_name, kwargs):
        items = [op for item in kwargs.get("TransactItems", []) for op in item.values()] \
            if operation_name == "TransactWriteItems" else [kwargs] if operation_name in (
                "PutItem", "UpdateItem", "DeleteItem") else []
        for op in items:
            table = op["TableName"].rsplit("-", 1)[-1]
            key = op.get("Item") or op.get("Key") or {}
            if table == "outbox":
                written.append((table, key["unit_id"]["S"]))
            elif table == "events":
                written.append((table, key["user_id"]["S"]))
        return original(self, operation_name, kwargs)

    admin = api.admin()
    users = [api.register(kind) for kind in ("buyer", "buyer", "seller", "seller")]
    monkeypatch.setattr(Connection, "_make_api_call", recording)
    for user in users:
        credit(api, admin, user, "3.00")
        _open(rt, user)
    rt.fan_out()
    outbox_keys = [key for table, key in written if table == "outbox"]
    assert len(outbox_keys) == 2 * len(users) and len(set(outbox_keys)) == len(outbox_keys)  # each once
    feed_keys = {key for table, key in written if table == "events"}
    assert feed_keys == {user["user"]["id"] for user in users}  # each user's own partition

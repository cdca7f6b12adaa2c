"""The unit of work (persistence/unit_of_work.py): a use case's items, conditions and what it owes, committed
at once. On moto in-process: what is written is read back; what is owed is an outbox item written in the
same transaction, read from the outbox table's stream and handed to its handler (tests/outbox.py), which
fills the users' feeds and sends the messages."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from pynamodb.connection.base import Connection
from pynamodb.exceptions import TransactWriteError

from chalicelib.domain import events
from chalicelib.domain.ledger import admin_credit
from chalicelib.persistence import counters, event_feed, ledger
from chalicelib.persistence.tables import CounterModel, NotificationModel, OutboxModel
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items

NOW = datetime(2026, 11, 2, 18, 0, tzinfo=timezone.utc)


def drained(queue: str) -> list[dict]:
    from chalicelib.gateways import queues

    sqs, url = queues._client(), queues.queue_url(queue)
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def an_event(user_id: str) -> dict:
    return events.addressed(events.BALANCE_CHANGED, {"test": True}, {events.USERS: [user_id]}, NOW)


def feed(user_id: str) -> list[tuple[int, str]]:
    found, _ = event_feed.after(user_id, 0, NOW, 100)
    return [(item.seq, item.event["event_id"]) for item in found]


@pytest.fixture
def queues(aws):
    from chalicelib.gateways import queues

    drained(queues.EVENTS), drained(queues.NOTIFICATIONS)
    return queues


@pytest.fixture
def transactions(monkeypatch):
    """Every TransactWriteItems request made: the (table, operation) of each of its items."""
    made: list[list[tuple[str, str]]] = []
    original = Connection._make_api_call

    def recording(self, operation_name, operation_kwargs):
        if operation_name == "TransactWriteItems":
            made.append([(op["TableName"].rsplit("-", 1)[-1], kind) for item in operation_kwargs["TransactItems"]
                         for kind, op in item.items()])
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", recording)
    return made


def test_a_committed_unit_writes_what_it_owes_in_its_own_transaction(queues, outbox, transactions):
    key, counted = f"test#{uuid.uuid4()}", NotificationModel(user_id="u1", notification_key="k")
    event = an_event("u1")
    with UnitOfWork() as work:
        counters.add(work, key, 3)
        work.emit(event)
        work.send(queues.NOTIFICATIONS, {"to": "u1"})
        work.assign(counted, {"subject": "assigned once committed"})
        assert counted.subject is None  # nothing before the commit
    assert transactions == [[("outbox", "Put"), ("counters", "Update")]]  # one request: the change and the outbox
    assert counters.value(key) == 3 and counted.subject == "assigned once committed"
    stored = OutboxModel.get(work.owed.unit_id)
    assert [e["event_id"] for e in json.loads(stored.events)] == [event["event_id"]]
    assert [m["body"] for m in json.loads(stored.messages)] == [{"to": "u1"}]
    # Nothing is sent by the commit itself: the outbox's stream publishes it.
    assert drained(queues.EVENTS) == [] and drained(queues.NOTIFICATIONS) == [] and feed("u1") == []
    outbox.publish()
    assert drained(queues.NOTIFICATIONS) == [{"to": "u1"}]
    assert feed("u1") == [(1, event["event_id"])]


def test_a_cancelled_unit_writes_nothing_owes_nothing_and_names_the_failed_item(queues, outbox):
    key = f"test#{uuid.uuid4()}"
    CounterModel(counter_key=key, value=1).save()
    work = UnitOfWork()
    counters.add(work, f"{key}-other")
    work.update(CounterModel(counter_key=key), actions=[CounterModel.value.add(1)], condition=CounterModel.value > 5)
    work.emit(an_event("u1"))
    work.send(queues.NOTIFICATIONS, {"to": "u1"})
    with pytest.raises(TransactWriteError) as raised:
        work.commit()
    assert [item.counter_key for item in failed_items(raised.value)] == [key]  # the outbox item shifts nothing
    assert counters.value(key) == 1 and counters.value(f"{key}-other") == 0
    with pytest.raises(OutboxModel.DoesNotExist):
        OutboxModel.get(work.owed.unit_id)
    assert outbox.publish() == []  # no outbox item, so no stream record
    assert drained(queues.EVENTS) == [] and drained(queues.NOTIFICATIONS) == [] and feed("u1") == []
    assert not work.committed


def test_a_unit_that_owes_nothing_writes_no_outbox_item(queues, transactions):
    with UnitOfWork() as work:
        counters.add(work, f"test#{uuid.uuid4()}")
    assert transactions == [[("counters", "Update")]] and work.owed is None


def test_a_unit_is_committed_once(queues):
    with UnitOfWork() as work:
        counters.add(work, f"test#{uuid.uuid4()}")
    with pytest.raises(RuntimeError):
        work.commit()


def test_a_block_that_raises_commits_nothing(queues, outbox):
    key = f"test#{uuid.uuid4()}"
    with pytest.raises(ValueError), UnitOfWork() as work:
        counters.add(work, key)
        work.emit(an_event("u1"))
        raise ValueError("the use case changed its mind")
    assert counters.value(key) == 0 and outbox.read() == []


def test_a_posting_owes_its_balance_events_once_and_a_replay_owes_nothing(queues, api_user, outbox):
    posting = admin_credit(f"test-credit:{uuid.uuid4()}", api_user, 10_000, "A credit")
    first = ledger.post(posting, NOW)
    outbox.publish()
    again = ledger.post(posting, NOW)  # a replay: returns the first record, commits nothing
    assert again.transaction_id == first.transaction_id
    assert outbox.read() == []  # no second outbox item
    found, _ = event_feed.after(api_user, 0, NOW, 100)
    assert [(item.seq, item.event["type"], item.event["data"]["transaction_id"]) for item in found] == [
        (1, events.BALANCE_CHANGED, first.transaction_id)]


def test_units_that_emit_only_write_their_outbox_item(queues, outbox, transactions):
    """A unit with events and no item of its own still commits: the outbox item alone."""
    with UnitOfWork() as work:
        work.emit(an_event("u1"), an_event("u2"))
    assert transactions == [[("outbox", "Put")]]
    [owed] = outbox.items()
    assert [e["to"] for e in owed.events] == [{"users": ["u1"]}, {"users": ["u2"]}]


@pytest.fixture
def api_user(client):
    from tests.helpers import Api

    return Api(client).register()["user"]["id"]

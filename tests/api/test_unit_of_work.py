"""The unit of work (persistence/unit_of_work.py): a use case's items, conditions and what it owes, committed
at once. On moto in-process: what is written is read back, what is owed is read from the queues."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from pynamodb.exceptions import TransactWriteError

from chalicelib.domain import events
from chalicelib.domain.ledger import admin_credit
from chalicelib.persistence import counters, ledger
from chalicelib.persistence.tables import CounterModel, NotificationModel
from chalicelib.persistence.unit_of_work import UnitOfWork, batched, failed_items

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


@pytest.fixture
def queues(aws):
    from chalicelib.gateways import queues

    drained(queues.EVENTS), drained(queues.NOTIFICATIONS)
    return queues


def test_a_committed_unit_writes_every_item_then_owes_its_events_messages_and_assignments(queues):
    key, counted = f"test#{uuid.uuid4()}", NotificationModel(user_id="u1", notification_key="k")
    with UnitOfWork() as work:
        counters.add(work, key, 3)
        work.emit(an_event("u1"))
        work.send(queues.NOTIFICATIONS, {"to": "u1"})
        work.assign(counted, {"subject": "assigned once committed"})
        assert drained(queues.EVENTS) == [] and counted.subject is None  # nothing owed before the commit
    assert counters.value(key) == 3
    assert [m["events"][0]["to"] for m in drained(queues.EVENTS)] == [{"users": ["u1"]}]
    assert drained(queues.NOTIFICATIONS) == [{"to": "u1"}]
    assert counted.subject == "assigned once committed"


def test_a_cancelled_unit_writes_nothing_owes_nothing_and_names_the_failed_item(queues):
    key = f"test#{uuid.uuid4()}"
    CounterModel(counter_key=key, value=1).save()
    work = UnitOfWork()
    counters.add(work, f"{key}-other")
    work.update(CounterModel(counter_key=key), actions=[CounterModel.value.add(1)], condition=CounterModel.value > 5)
    work.emit(an_event("u1"))
    work.send(queues.NOTIFICATIONS, {"to": "u1"})
    with pytest.raises(TransactWriteError) as raised:
        work.commit()
    assert [item.counter_key for item in failed_items(raised.value)] == [key]
    assert counters.value(key) == 1 and counters.value(f"{key}-other") == 0
    assert drained(queues.EVENTS) == [] and drained(queues.NOTIFICATIONS) == []
    assert not work.committed


def test_a_unit_is_committed_once(queues):
    with UnitOfWork() as work:
        counters.add(work, f"test#{uuid.uuid4()}")
    with pytest.raises(RuntimeError):
        work.commit()


def test_a_block_that_raises_commits_nothing(queues):
    key = f"test#{uuid.uuid4()}"
    with pytest.raises(ValueError), UnitOfWork() as work:
        counters.add(work, key)
        work.emit(an_event("u1"))
        raise ValueError("the use case changed its mind")
    assert counters.value(key) == 0 and drained(queues.EVENTS) == []


def test_a_posting_owes_its_balance_events_once_and_a_replay_owes_nothing(queues, api_user):
    posting = admin_credit(f"test-credit:{uuid.uuid4()}", api_user, 10_000, "A credit")
    first = ledger.post(posting, NOW)
    again = ledger.post(posting, NOW)
    assert again.transaction_id == first.transaction_id
    published = [e for m in drained(queues.EVENTS) for e in m["events"]]
    assert [(e["type"], e["to"], e["data"]["transaction_id"]) for e in published] == [
        (events.BALANCE_CHANGED, {"users": [api_user]}, first.transaction_id)]


def test_the_events_of_a_batch_go_out_as_one_message(queues):
    with batched():
        for user in ("u1", "u2"):
            with UnitOfWork() as work:
                counters.add(work, f"test#{uuid.uuid4()}")
                work.emit(an_event(user))
        assert drained(queues.EVENTS) == []
    assert [[e["to"] for e in m["events"]] for m in drained(queues.EVENTS)] == [[{"users": ["u1"]}, {"users": ["u2"]}]]


@pytest.fixture
def api_user(client):
    from tests.helpers import Api

    return Api(client).register()["user"]["id"]

"""Webhooks for users' servers, in-process (moto, the Chalice test client) with a real HTTP receiver on the
loopback: an event the user is sent is POSTed to each endpoint that wants it, signed as the README says; a
failing receiver is tried again on the schedule (with jitter) until 24 hours are up, every attempt with the
same delivery id, and shows in the delivery log; an endpoint failing for 24 hours is disabled and its owner
notified."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest

from chalicelib.gateways import queues
from tests.api.test_unit_of_work import drained
from tests.overrides import settings  # noqa: F401 - a fixture
from tests.receiver import Receiver
from tests.unit.test_rtb_rules import readme_verify


@pytest.fixture
def loopback(settings):
    """What `make run` allows: users' servers on the loopback."""
    settings(ALLOW_LOOPBACK_CALLBACKS="true")


@pytest.fixture
def receiver(loopback):
    found = Receiver()
    yield found
    found.close()


def deliver(client, bodies: list[dict]) -> None:
    """Each message handed to the worker Lambda runs (deliver_webhooks), one at a time, as SQS would."""
    for body in bodies:
        event = client.events.generate_sqs_event(message_bodies=[json.dumps(body)], queue_name=queues.WEBHOOKS)
        client.lambda_.invoke("deliver_webhooks", event)


def delayed(queue: str) -> int:
    sqs = queues._client()
    attributes = sqs.get_queue_attributes(QueueUrl=queues.queue_url(queue), AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesDelayed"])


def deliveries(hook: dict) -> list:
    """The delivery log, read from its table (an access token does not outlive the hours these tests move)."""
    from chalicelib.persistence.tables import WebhookDeliveryModel

    return list(WebhookDeliveryModel.query(hook["id"], scan_index_forward=False))


def stored(user: dict) -> dict:
    from chalicelib.persistence.tables import WebhookEndpointsModel

    return WebhookEndpointsModel.get(user["user"]["id"], consistent_read=True).endpoints[0]


def endpoint(api, user, url: str, events=("balance.changed",)) -> dict:
    created = api.post("/webhooks", {"url": url, "events": list(events)}, token=user["token"])
    assert created.status == 201, created.body
    return created.data


def test_endpoints_are_the_users_own_and_their_secret_is_shown_once(api, receiver):
    user, other = api.register("buyer"), api.register("seller")
    created = endpoint(api, user, receiver.url("/hooks"))
    assert created["secret"].startswith("whsec_") and created["status"] == "active"
    listed = api.get("/webhooks", token=user["token"]).data
    assert [e["id"] for e in listed] == [created["id"]] and listed[0]["secret"] is None
    assert api.get("/webhooks", token=other["token"]).data == []
    for path in (f"/webhooks/{created['id']}/deliveries", ):
        assert api.get(path, token=other["token"]).status == 404
    assert api.post(f"/webhooks/{created['id']}/test", token=other["token"]).status == 404
    assert api.call("DELETE", f"/webhooks/{created['id']}", token=other["token"]).status == 404
    assert api.call("DELETE", f"/webhooks/{created['id']}", token=user["token"]).status == 204
    assert api.get("/webhooks", token=user["token"]).data == []


def test_a_url_that_is_not_public_https_is_refused_outside_make_run(api):
    user = api.register("buyer")
    for url in ("http://127.0.0.1:9/hooks", "https://10.0.0.1/hooks", "https://localhost/hooks"):
        refused = api.post("/webhooks", {"url": url, "events": ["call.completed"]}, token=user["token"])
        assert refused.status == 400 and refused.error["details"][0]["field"] == "url", refused.body
    unknown = api.post("/webhooks", {"url": "https://hooks.example.com/x", "events": ["call.exploded"]},
                       token=user["token"])
    assert unknown.status == 400


def test_an_event_reaches_the_endpoint_signed_and_the_readme_recipe_verifies_it(api, client, outbox, receiver, clock):
    user = api.register("buyer")
    hook = endpoint(api, user, receiver.url("/hooks"))
    outbox.publish()
    drained(queues.WEBHOOKS)
    api.fund(user, "20.00")  # balance.changed, to the user
    records = outbox.publish()
    deliver(client, drained(queues.WEBHOOKS))
    [got] = receiver.received
    assert got.headers["x-exchange-event"] == "balance.changed"
    assert got.json["type"] == "balance.changed" and got.json["data"]["changes"] == {"balance": "20.00"}
    verify = readme_verify()
    assert verify(hook["secret"], got.body, got.headers["x-exchange-signature"], int(clock().timestamp()))
    assert not verify("whsec_wrong", got.body, got.headers["x-exchange-signature"], int(clock().timestamp()))
    [delivery] = api.get(f"/webhooks/{hook['id']}/deliveries", token=user["token"]).data
    assert delivery["id"] == got.headers["x-exchange-delivery"] and delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [200]
    # The outbox's stream publishing the same records again is the same delivery, made once.
    outbox.hand_over(records)
    again = drained(queues.WEBHOOKS)
    assert [m["delivery_id"] for m in again] == [delivery["id"]]
    deliver(client, again)
    assert len(receiver.received) == 1


def test_a_failing_receiver_is_retried_with_backoff_for_24_hours_then_the_endpoint_is_disabled(
        api, client, outbox, receiver, clock):
    user = api.register("buyer")
    hook = endpoint(api, user, receiver.url("/hooks"), events=["call.completed"])
    receiver.answering(500, {"error": "down"})
    sent = api.post(f"/webhooks/{hook['id']}/test", token=user["token"])
    assert sent.status == 202
    outbox.publish()
    message = drained(queues.WEBHOOKS)[0]
    delays, steps = [], [10, 30, 120, 600, 1800, 3600, 3600]
    for step in steps:
        deliver(client, [message])
        [owed] = [m for item in outbox.items() for m in item.messages if m.queue == queues.WEBHOOKS]
        due = datetime.fromisoformat(owed.body["due_at"])
        delay = (due - clock()).total_seconds()
        assert step <= delay <= step * 1.2 + 1, (step, delay)  # the step, plus at most 20% jitter
        assert (owed.due_at - clock()).total_seconds() == min(delay, 900)  # SQS delays 15 minutes at most
        delays.append(delay)
        message = owed.body
        clock.current = due
    assert len({r.headers["x-exchange-delivery"] for r in receiver.received}) == 1  # one delivery id throughout
    assert [r.json["type"] for r in receiver.received] == ["webhook.test"] * len(steps)
    [delivery] = deliveries(hook)
    assert delivery.status == "pending" and [a["status_code"] for a in delivery.attempts] == [500] * len(steps)
    assert delivery.next_attempt_at is not None and stored(user)["failing_since"] is not None
    # A wait longer than SQS's 15 minutes is waited in steps: an early message is sent back, delayed.
    early = {**message, "due_at": (clock() + timedelta(hours=1)).isoformat()}
    deliver(client, [early])
    assert len(receiver.received) == len(steps) and delayed(queues.WEBHOOKS) == 1  # sent again, nothing posted
    # Hourly until 24 hours after the first attempt: then the delivery fails, and the endpoint, failing for 24
    # hours, is disabled and its owner told.
    clock.advance(hours=23)
    message = {**message, "due_at": clock().isoformat()}
    deliver(client, [message])
    owed = [m for item in outbox.items() for m in item.messages]
    assert not [m for m in owed if m.queue == queues.WEBHOOKS]
    assert [m.body["kind"] for m in owed if m.queue == queues.NOTIFICATIONS] == ["webhook_disabled"]
    [delivery] = deliveries(hook)
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert stored(user)["status"] == "disabled"


def test_a_delivery_that_succeeds_after_failures_clears_the_endpoints_failure_and_sqs_repeats_change_nothing(
        api, client, outbox, receiver, clock):
    user = api.register("buyer")
    hook = endpoint(api, user, receiver.url("/hooks"), events=["call.completed"])
    receiver.answering(503, {})
    api.post(f"/webhooks/{hook['id']}/test", token=user["token"])
    outbox.publish()
    first = drained(queues.WEBHOOKS)[0]
    deliver(client, [first])
    [retry] = [m for item in outbox.items() for m in item.messages]
    deliver(client, [first])  # SQS repeating the first attempt's message: already made
    assert len(receiver.received) == 1
    receiver.answering(204, b"")
    clock.current = datetime.fromisoformat(retry.body["due_at"])
    deliver(client, [retry.body])
    [delivery] = api.get(f"/webhooks/{hook['id']}/deliveries", token=user["token"]).data
    assert delivery["status"] == "delivered" and [a["status_code"] for a in delivery["attempts"]] == [503, 204]
    assert api.get("/webhooks", token=user["token"]).data[0]["failing_since"] is None

"""Workers through the Lambda event path, as Lambda would invoke them."""
import json
import uuid
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from chalice.test import Client

from chalicelib.domain.errors import ValidationFailed
from local import dispatcher
from chalicelib.persistence.tables import NotificationModel, UserModel
from chalicelib.services.admin import lift_expired_suspensions
from tests.helpers import PASSWORD, Api


def sqs_event(client: Client, *bodies: dict) -> dict:
    event = client.events.generate_sqs_event(message_bodies=[json.dumps(b) for b in bodies],
                                             queue_name="callx-test-notifications")
    for record in event["Records"]:  # generate_sqs_event gives every record the same id
        record["messageId"] = str(uuid.uuid4())
    return event


def notification(user_id: str, notification_id: str = "n-1") -> dict:
    return {"notification_id": notification_id, "user_id": user_id, "kind": "account_suspended",
            "subject": "Suspended", "message": "Your account has been suspended.",
            "created_at": "2026-11-02T15:00:00+00:00"}


def test_notification_is_delivered_once_however_often_sqs_repeats_it(client, aws):
    user = Api(client).register()
    event = sqs_event(client, notification(user["user"]["id"]))
    for _ in range(3):  # at-least-once delivery: the same message again
        client.lambda_.invoke("deliver_notifications", event)
    inbox = Api(client).get("/notifications", token=user["token"])
    assert inbox.body["pagination"]["total"] == 1
    assert inbox.data[0]["id"] == "n-1" and inbox.data[0]["kind"] == "account_suspended"


def test_poison_message_fails_so_sqs_retries_then_dead_letters(client, aws):
    # Raising is how a Lambda SQS consumer says "not processed": SQS redelivers, then dead-letters. A batch
    # whose every record failed (here its one record) raises powertools' BatchProcessingError, which
    # carries each record's own exception.
    with pytest.raises(BatchProcessingError) as failed:
        client.lambda_.invoke("deliver_notifications", sqs_event(client, {"unexpected": True}))
    assert [type(exception) for _, exception, _ in failed.value.child_exceptions] == [ValidationFailed]
    assert NotificationModel.count() == 0

    # The same message on the real queue, delivered as SQS and Lambda do (the dispatcher): every delivery
    # fails, it comes back each time, and after maxReceiveCount deliveries it is in the dead-letter queue.
    from app import app
    from chalicelib.config import get_settings
    from chalicelib.gateways import queues

    sqs = queues._client()
    url = queues.queue_url(queues.NOTIFICATIONS)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queues.send(queues.NOTIFICATIONS, {"unexpected": True})
    handler = app.handler_map["deliver_notifications"]
    consumer = dispatcher.Dispatcher(app, sqs, get_settings().queue_name, "us-east-1")
    deliveries = 0
    # VisibilityTimeout=0 stands in for waiting out the visibility timeout between deliveries.
    while messages := sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages", []):
        consumer.deliver(handler, "deliver_notifications", messages, url, arn)
        deliveries += 1
        assert deliveries <= 10, "the message never reached the dead-letter queue"

    spec = next(s for s in queues.QUEUES if s.logical == queues.NOTIFICATIONS)
    assert deliveries == spec.max_receive_count
    dlq_url = sqs.get_queue_url(QueueName=get_settings().queue_name(spec.dead_letter))["QueueUrl"]
    [dead] = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert json.loads(dead["Body"]) == {"unexpected": True}
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages", []) == []
    assert NotificationModel.count() == 0


def test_only_the_failed_record_of_a_batch_is_reported_retried_and_the_others_are_done_once(client, aws):
    """Every worker takes batches of one today; a larger batch (as Lambda would hand over with a larger
    batch_size) reports its failed records alone in batchItemFailures, and SQS redelivers only those."""
    user_id = Api(client).register()["user"]["id"]
    event = sqs_event(client, notification(user_id, "n-1"), {"unexpected": True}, notification(user_id, "n-2"))
    poison = event["Records"][1]["messageId"]
    response = client.lambda_.invoke("deliver_notifications", event)
    assert response.payload == {"batchItemFailures": [{"itemIdentifier": poison}]}
    assert {n.notification_id for n in NotificationModel.query(user_id)} == {"n-1", "n-2"}

    # On the real queue, delivered as SQS and Lambda do (the dispatcher): the good message is deleted
    # after one delivery, the poison one comes back.
    from app import app
    from chalicelib.gateways import queues

    sqs = queues._client()
    url = queues.queue_url(queues.NOTIFICATIONS)
    queues.send(queues.NOTIFICATIONS, notification(user_id, "n-3"))
    queues.send(queues.NOTIFICATIONS, {"unexpected": True})
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    assert len(messages) == 2
    consumer = dispatcher.Dispatcher(app, sqs, str, "us-east-1")
    consumer.deliver(app.handler_map["deliver_notifications"], "deliver_notifications", messages, url, "arn")
    [again] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert json.loads(again["Body"]) == {"unexpected": True}
    assert NotificationModel.count() == 3


def test_suspension_notification_reaches_the_inbox_through_the_queue(client, aws, outbox):
    """Admin suspends with notify_user → the outbox → its stream's handler → SQS → the worker Lambda → the user's
    inbox."""
    from chalicelib.gateways import queues

    api = Api(client)
    admin, user = api.admin(), api.register()
    api.put(f"/admin/users/{user['user']['id']}/suspend", {"reason": "Spam", "notify_user": True,
                                                            "duration_days": 1}, token=admin["token"])
    outbox.publish()
    sqs = queues._client()
    message = sqs.receive_message(QueueUrl=queues.queue_url(queues.NOTIFICATIONS))["Messages"][0]
    client.lambda_.invoke("deliver_notifications", dispatcher.sqs_event([message], "arn:aws:sqs:::q", "us-east-1"))
    [stored] = NotificationModel.query(user["user"]["id"])
    assert "Spam" in stored.message and "until" in stored.message


def test_scheduled_job_lifts_only_ended_suspensions(client, aws, clock):
    api = Api(client)
    admin = api.admin()
    short, long, forever = api.register(), api.register(), api.register()
    for user, days in ((short, 1), (long, 30), (forever, None)):
        body = {"reason": "Review", **({"duration_days": days} if days else {})}
        assert api.put(f"/admin/users/{user['user']['id']}/suspend", body, token=admin["token"]).status == 200

    clock.advance(days=1, seconds=1)
    client.lambda_.invoke("lift_suspensions", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    assert UserModel.get(short["user"]["id"]).status == "active"
    assert UserModel.get(short["user"]["id"]).suspended_until is None
    assert UserModel.get(long["user"]["id"]).status == "suspended"
    assert UserModel.get(forever["user"]["id"]).status == "suspended"
    assert lift_expired_suspensions(clock()) == 0  # running again changes nothing
    assert api.post("/auth/login", {"email": short["email"], "password": PASSWORD}).status == 200


def test_ended_suspension_lets_the_user_in_before_the_job_runs(client, aws, clock):
    api = Api(client)
    admin, user = api.admin(), api.register()
    api.put(f"/admin/users/{user['user']['id']}/suspend", {"reason": "x", "duration_days": 2}, token=admin["token"])
    assert api.post("/auth/login", {"email": user["email"], "password": PASSWORD}).status == 403
    clock.advance(days=2)
    assert api.post("/auth/login", {"email": user["email"], "password": PASSWORD}).status == 200

"""The local dispatcher: SQS messages and schedules reach handlers as Lambda would deliver them."""
import json
import threading
from types import SimpleNamespace

import pytest
from chalice.app import ScheduledEventConfig, SQSEventConfig

from local.dispatcher import Dispatcher, LambdaContext, rate_seconds

WAIT = 10  # seconds: an upper bound for background delivery, never a fixed pause


@pytest.fixture
def sqs(aws):
    from chalicelib.gateways import queues

    client = queues._client()
    url = client.create_queue(QueueName="dispatch-test", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    yield client, url
    client.delete_queue(QueueUrl=url)


def app_with(handler, source):
    return SimpleNamespace(event_sources=[source], handler_map={source.name: handler})


def test_messages_arrive_as_a_lambda_sqs_event_and_are_deleted_after_success(sqs):
    client, url = sqs
    received, done = [], threading.Event()

    def handler(event, context):
        received.append((event, context))
        done.set()

    source = SQSEventConfig("consume", "app.consume", "dispatch-test", None, 1, 0, None)
    dispatcher = Dispatcher(app_with(handler, source), client, lambda logical: logical, "us-east-1")
    client.send_message(QueueUrl=url, MessageBody=json.dumps({"hello": "world"}))
    dispatcher.start()
    try:
        assert done.wait(WAIT)
    finally:
        dispatcher.stop()
    event, context = received[0]
    [record] = event["Records"]
    assert json.loads(record["body"]) == {"hello": "world"}
    assert record["eventSource"] == "aws:sqs" and record["messageId"] and record["receiptHandle"]
    assert isinstance(context, LambdaContext) and context.get_remaining_time_in_millis() > 0
    assert client.receive_message(QueueUrl=url).get("Messages", []) == []


def test_a_failing_handler_leaves_the_message_for_redelivery(sqs):
    client, url = sqs
    attempts, twice = [], threading.Event()

    def handler(event, context):
        attempts.append(event["Records"][0]["messageId"])
        if len(attempts) >= 2:
            twice.set()
        raise RuntimeError("not today")

    source = SQSEventConfig("consume", "app.consume", "dispatch-test", None, 1, 0, None)
    dispatcher = Dispatcher(app_with(handler, source), client, lambda logical: logical, "us-east-1")
    client.send_message(QueueUrl=url, MessageBody="{}")
    dispatcher.start()
    try:
        assert twice.wait(WAIT)  # visibility timeout 0: it comes straight back
    finally:
        dispatcher.stop()
    assert attempts[0] == attempts[1]


def test_partial_batch_failures_keep_only_the_failed_messages(sqs):
    client, url = sqs
    for body in ("ok", "fail"):
        client.send_message(QueueUrl=url, MessageBody=body)
    messages = []
    while len(messages) < 2:
        messages += client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
    failed = next(m for m in messages if m["Body"] == "fail")

    def handler(event, context):
        return {"batchItemFailures": [{"itemIdentifier": failed["MessageId"]}]}

    Dispatcher(SimpleNamespace(), client, str, "us-east-1").deliver(handler, "consume", messages, url, "arn")
    client.change_message_visibility(QueueUrl=url, ReceiptHandle=failed["ReceiptHandle"], VisibilityTimeout=0)
    [left] = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert left["Body"] == "fail"


def test_schedules_fire_at_their_rate(aws):
    fired = threading.Event()
    source = ScheduledEventConfig("tick", "app.tick", "rate(5 minutes)", "")
    calls = []

    def handler(event, context):
        calls.append(event)
        fired.set()

    # schedule_scale shrinks five minutes to 30 ms for the test.
    dispatcher = Dispatcher(app_with(handler, source), None, str, "us-east-1", schedule_scale=0.0001)
    dispatcher.start()
    try:
        assert fired.wait(WAIT)
    finally:
        dispatcher.stop()
    assert calls[0]["detail-type"] == "Scheduled Event" and calls[0]["source"] == "aws.events"


@pytest.mark.parametrize("expression, seconds", [("rate(1 minute)", 60), ("rate(5 minutes)", 300),
                                                 ("rate(2 hours)", 7200), ("rate(1 day)", 86400)])
def test_rate_expressions(expression, seconds):
    assert rate_seconds(expression) == seconds


def test_cron_schedules_are_refused_locally_rather_than_ignored():
    with pytest.raises(ValueError):
        rate_seconds("cron(0 12 * * ? *)")

"""The local dispatcher: SQS messages and schedules reach handlers as Lambda would deliver them."""
import json
import threading
from types import SimpleNamespace

import pytest
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

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


# --- DynamoDB streams ------------------------------------------------------------------------------

@pytest.fixture
def streamed(aws):
    """A table with a stream (new images) on moto, named as the product names its tables."""
    import boto3

    from chalicelib.config import get_settings

    name = get_settings().table_name("dispatch-test")
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(TableName=name, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST",
                          StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    yield dynamodb, name
    dynamodb.delete_table(TableName=name)


def stream_source(batch_size: int = 10) -> DynamoDBEventConfig:
    return DynamoDBEventConfig("publish", "app.publish", "arn:aws:dynamodb:::table/dispatch-test/stream/x",
                               batch_size, "TRIM_HORIZON", 0)


def test_stream_records_arrive_as_a_lambda_dynamodb_event_in_order(streamed):
    from chalice.app import DynamoDBEvent

    dynamodb, name = streamed
    received, done = [], threading.Event()

    def handler(event, context):
        received.extend(DynamoDBEvent(event, context))
        if len(received) >= 3:
            done.set()

    dispatcher = Dispatcher(app_with(handler, stream_source()), None, str, "us-east-1")
    for key in ("a", "b", "c"):
        dynamodb.put_item(TableName=name, Item={"k": {"S": key}, "v": {"N": "1"}})
    dispatcher.start()
    try:
        assert done.wait(WAIT)
    finally:
        dispatcher.stop()
    assert [(r.event_name, r.new_image["k"]["S"]) for r in received] == [("INSERT", "a"), ("INSERT", "b"),
                                                                          ("INSERT", "c")]
    assert received[0].table_name == name and received[0].timestamp is not None


def test_a_failing_stream_handler_gets_the_batch_again_and_a_partial_answer_the_rest_from_the_failed_one(streamed):
    dynamodb, name = streamed
    for key in ("a", "b", "c"):
        dynamodb.put_item(TableName=name, Item={"k": {"S": key}})
    dispatcher = Dispatcher(app_with(None, stream_source()), None, str, "us-east-1")
    arn = dispatcher.stream_arn(stream_source())
    records = dispatcher.read_stream(arn, None, 10)
    assert [r["dynamodb"]["NewImage"]["k"]["S"] for r in records] == ["a", "b", "c"]

    def raising(event, context):
        raise RuntimeError("not today")

    assert dispatcher.deliver_records(raising, "publish", records, arn) == []  # none handled: all again

    def failing_b(event, context):
        return {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}

    handled = dispatcher.deliver_records(failing_b, "publish", records, arn)
    assert handled == records[:1]
    again = dispatcher.read_stream(arn, handled[-1]["dynamodb"]["SequenceNumber"], 10)
    assert [r["dynamodb"]["NewImage"]["k"]["S"] for r in again] == ["b", "c"]  # from the failed one on
    assert dispatcher.deliver_records(lambda event, context: None, "publish", again, arn) == again

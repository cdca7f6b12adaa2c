"""Delivers SQS messages and scheduled events to the app's own handlers, as Lambda would.

SQS: each `on_sqs_message` handler gets a poller that long-polls its queue (on moto server, which
honours DelaySeconds and visibility timeouts by its clock: the runtime's, which tests can move forward,
local/clock.py), builds the Lambda SQS event and calls the handler. A
message is deleted when the handler succeeds (or is not named in `batchItemFailures`); otherwise it
becomes visible again after the visibility timeout and, after maxReceiveCount, goes to the DLQ.
DynamoDB streams: each `on_dynamodb_record` handler gets a poller that reads the stream of the table its
ARN names by logical name (workers/outbox.py) on moto, builds the Lambda DynamoDB event and calls the
handler: as on Lambda, a handler that raises gets the same batch again, and one that answers
`batchItemFailures` gets the records from the first failed one again; the others are not read twice.
Schedules: each `schedule(Rate(...))` handler is called at its rate with a scheduled event.
"""
from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

from chalicelib.observability import logger

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
STREAM_IDLE_SECONDS = 0.1  # between reads of a stream that had nothing new
STREAM_RETRY_SECONDS = 1.0  # before a failed batch is handed over again


class LambdaContext:
    """The parts of Lambda's context object that handlers and powertools read."""

    def __init__(self, function_name: str, timeout_seconds: int = 60):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = datetime.now(timezone.utc).timestamp() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - datetime.now(timezone.utc).timestamp()) * 1000))


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    return {"Records": [{
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": m.get("MessageAttributes", {}),
        "md5OfBody": m.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for m in messages]}


def dynamodb_event(records: list[dict], stream_arn: str, region: str) -> dict:
    """Lambda's DynamoDB stream event: the records as GetRecords returns them, with their source."""
    shaped = []
    for record in records:
        image = dict(record["dynamodb"])
        created = image.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):  # boto3 parses it; Lambda sends epoch seconds
            image["ApproximateCreationDateTime"] = created.timestamp()
        shaped.append({**record, "dynamodb": image, "eventSourceARN": stream_arn,
                       "awsRegion": record.get("awsRegion") or region})
    return {"Records": shaped}


def stream_table(stream_arn: str) -> str:
    """The logical name of the table an event source's stream ARN names (".../table/<name>/stream/...")."""
    return stream_arn.split(":table/", 1)[1].split("/", 1)[0]


def scheduled_event(rule_name: str, region: str) -> dict:
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "000000000000", "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region, "resources": [f"arn:aws:events:{region}:000000000000:rule/{rule_name}"], "detail": {},
    }


def rate_seconds(expression: str) -> int:
    match = _RATE.fullmatch(expression.strip())
    if not match:
        raise ValueError(f"the local dispatcher runs rate() schedules only, not {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


class Dispatcher:
    def __init__(self, app: Any, sqs: Any, queue_name: Callable[[str], str], region: str,
                 schedule_scale: float = 1.0, streams: Any = None, table_name: Callable[[str], str] | None = None):
        """`streams` (a dynamodbstreams client) and `table_name` (logical -> physical) default to the
        product's settings: the same endpoint as its DynamoDB."""
        self.app = app
        self.sqs = sqs
        self.queue_name = queue_name
        self.region = region
        self.schedule_scale = schedule_scale  # < 1 runs schedules more often (demos)
        self.streams = streams
        self.table_name = table_name
        self._shards: dict[str, str] = {}  # stream ARN -> its shard (moto's streams have one)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for source in self.app.event_sources:
            if isinstance(source, SQSEventConfig):
                target = self._poll_queue
            elif isinstance(source, DynamoDBEventConfig):
                target = self._poll_stream
            elif isinstance(source, ScheduledEventConfig):
                target = self._run_schedule
            else:
                continue
            thread = threading.Thread(target=target, args=(source,), name=f"dispatch-{source.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, grace_seconds: float = 5) -> None:
        """Handlers running now get `grace_seconds` in all to finish; the threads are daemons."""
        self._stop.set()
        deadline = time.monotonic() + grace_seconds
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _poll_queue(self, source: SQSEventConfig) -> None:
        url = self.sqs.get_queue_url(QueueName=self.queue_name(source.queue))["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        handler = self.app.handler_map[source.name]
        while not self._stop.is_set():
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=min(source.batch_size, 10), WaitTimeSeconds=1,
                    AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
            except Exception:  # moto server going away at shutdown
                if self._stop.is_set():
                    return
                logger.exception("Receiving from queue failed", extra={"queue": source.queue})
                self._stop.wait(1)
                continue
            if messages:
                self.deliver(handler, source.name, messages, url, arn)

    def deliver(self, handler: Callable, name: str, messages: list[dict], url: str, arn: str) -> None:
        try:
            result = handler(sqs_event(messages, arn, self.region), LambdaContext(name))
        except Exception:
            # As on Lambda: the batch is left to reappear after its visibility timeout.
            logger.exception("SQS handler failed", extra={"handler": name})
            return
        failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])} \
            if isinstance(result, dict) else set()
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def _stream_clients(self) -> tuple[Any, Callable[[str], str]]:
        if self.streams is None or self.table_name is None:
            import boto3
            from botocore.config import Config

            from chalicelib.config import get_settings

            settings = get_settings()
            # botocore would address streams by account (<account>.streams-ddb...), which moto does not serve.
            self.streams = self.streams or boto3.client(
                "dynamodbstreams", region_name=settings.region, endpoint_url=settings.dynamodb_endpoint,
                config=Config(account_id_endpoint_mode="disabled"))
            self.table_name = self.table_name or settings.table_name
        return self.streams, self.table_name

    def stream_arn(self, source: DynamoDBEventConfig) -> str:
        streams, table_name = self._stream_clients()
        table = table_name(stream_table(source.stream_arn))
        listed = streams.list_streams(TableName=table)["Streams"]
        if not listed:
            raise LookupError(f"{table} has no stream")
        return listed[0]["StreamArn"]

    def _poll_stream(self, source: DynamoDBEventConfig) -> None:
        handler = self.app.handler_map[source.name]
        arn, after = None, None  # the stream, and the sequence number of the last record handled
        while not self._stop.is_set():
            try:
                arn = arn or self.stream_arn(source)
                records = self.read_stream(arn, after, source.batch_size)
            except Exception:  # moto server going away at shutdown
                if self._stop.is_set():
                    return
                logger.exception("Reading a stream failed", extra={"handler": source.name})
                self._stop.wait(STREAM_RETRY_SECONDS)
                continue
            if not records:
                self._stop.wait(STREAM_IDLE_SECONDS)
                continue
            handled = self.deliver_records(handler, source.name, records, arn)
            if handled:
                after = handled[-1]["dynamodb"]["SequenceNumber"]
            if len(handled) < len(records):
                self._stop.wait(STREAM_RETRY_SECONDS)

    def read_stream(self, arn: str, after: str | None, limit: int) -> list[dict]:
        """The records after `after` (from the oldest without it). A fresh iterator every time: moto gives a
        table a new stream shard object when it rolls a cancelled transaction back, and an old iterator would
        read the abandoned one."""
        streams, _ = self._stream_clients()
        if arn not in self._shards:
            self._shards[arn] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        shard = self._shards[arn]
        where = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after} if after \
            else {"ShardIteratorType": "TRIM_HORIZON"}
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, **where)["ShardIterator"]
        return streams.get_records(ShardIterator=iterator, Limit=limit)["Records"]

    def deliver_records(self, handler: Callable, name: str, records: list[dict], arn: str) -> list[dict]:
        """Calls the handler with the records; answers the leading ones it handled (all, unless it raised or
        named a failed record)."""
        try:
            result = handler(dynamodb_event(records, arn, self.region), LambdaContext(name))
        except Exception:
            logger.exception("DynamoDB stream handler failed", extra={"handler": name})
            return []
        failed = [f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])] \
            if isinstance(result, dict) else []
        if not failed:
            return records
        numbers = [record["dynamodb"]["SequenceNumber"] for record in records]
        first = min(numbers.index(number) for number in failed if number in numbers) \
            if any(number in numbers for number in failed) else 0
        return records[:first]

    def _run_schedule(self, source: ScheduledEventConfig) -> None:
        expression = source.schedule_expression
        expression = expression if isinstance(expression, str) else expression.to_string()
        interval = rate_seconds(expression) * self.schedule_scale
        handler = self.app.handler_map[source.name]
        while not self._stop.wait(interval):
            try:
                handler(scheduled_event(source.name, self.region), LambdaContext(source.name))
            except Exception:
                logger.exception("Scheduled handler failed", extra={"handler": source.name})

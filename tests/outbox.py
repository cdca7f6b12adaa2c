"""The outbox table's DynamoDB stream in the in-process tests: read from moto as the local dispatcher reads
it (local/dispatcher.py), and handed to the handler Lambda calls (`publish_outbox`, through the Chalice test
client, middleware included) only when a test says, so a test can look between a commit and its
publication, or hand a record over twice (a redelivery)."""
from __future__ import annotations

from typing import Any

from chalice.app import DynamoDBEventConfig

from local.dispatcher import Dispatcher, dynamodb_event


class OutboxStream:
    def __init__(self, client: Any):
        from app import app

        self.client = client
        self.source = next(s for s in app.event_sources if isinstance(s, DynamoDBEventConfig))
        self.dispatcher = Dispatcher(app, None, str, "us-east-1")
        self.after: str | None = None  # the last record read
        self._arn: str | None = None

    @property
    def arn(self) -> str:
        if self._arn is None:
            self._arn = self.dispatcher.stream_arn(self.source)
        return self._arn

    def read(self) -> list[dict]:
        """Every record written since the last read (none handed over)."""
        records: list[dict] = []
        while batch := self.dispatcher.read_stream(self.arn, self.after, 100):
            records += batch
            self.after = batch[-1]["dynamodb"]["SequenceNumber"]
        return records

    def hand_over(self, records: list[dict]) -> Any:
        """One delivery of these records to the handler, as Lambda makes it; its answer."""
        event = dynamodb_event(records, self.arn, "us-east-1")
        return self.client.lambda_.invoke(self.source.name, event).payload

    def publish(self) -> list[dict]:
        """Every new record handed over, in batches of the event source's size, until none is left (a handler's
        own writes may add records: each is handed over too); the records."""
        handed: list[dict] = []
        while records := self.read():
            for start in range(0, len(records), self.source.batch_size):
                batch = records[start:start + self.source.batch_size]
                answer = self.hand_over(batch)
                assert not (answer or {}).get("batchItemFailures"), answer
            handed += records
        return handed

    def items(self) -> list[dict]:
        """The outbox items of the new records, as their stream images carry them (persistence/outbox.Owed)."""
        from chalicelib.persistence.outbox import from_image

        return [from_image(r["dynamodb"]["NewImage"]) for r in self.read() if r["eventName"] == "INSERT"]

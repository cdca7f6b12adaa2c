"""Publishes the outbox: the handler of the outbox table's DynamoDB stream (services/outbox.py does the work).

Each new outbox item is one committed unit of work's events and messages. Records are handled in order;
when one fails, the answer names it (a partial batch response), and the stream delivers it and those after
it again: at least once, never skipped. The packaged template points the event source at the table's
stream (infra/generate.py replaces OUTBOX_STREAM, which a stream's ARN cannot be known before the table
exists); under `make run`, local/dispatcher.py reads the stream of the table this ARN names."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.observability import EVENTS_PUBLISH_FAILED, EVENTS_PUBLISHED, logger, measure
from chalicelib.persistence.outbox import from_image
from chalicelib.persistence.tables import OutboxModel
from chalicelib.services.outbox import publish

# Replaced in the packaged template by the outbox table's StreamArn; names the table by its logical name.
OUTBOX_STREAM = f"arn:aws:dynamodb:us-east-1:000000000000:table/{OutboxModel.logical_name}/stream/outbox"
BATCH_SIZE = 10

bp = Blueprint(__name__)


@bp.on_dynamodb_record(stream_arn=OUTBOX_STREAM, batch_size=BATCH_SIZE, starting_position="TRIM_HORIZON")
def publish_outbox(event):
    for record in event:
        if record.event_name != "INSERT" or not record.new_image:  # an item TTL removed: nothing owed
            continue
        try:
            result = publish(from_image(record.new_image))
        except Exception:
            measure(EVENTS_PUBLISH_FAILED)
            logger.exception("Publishing an outbox item failed", extra={"sequence_number": record.sequence_number})
            return {"batchItemFailures": [{"itemIdentifier": record.sequence_number}]}
        measure(EVENTS_PUBLISHED, result["events"])
        logger.debug("Outbox item published", extra=result)
    return {"batchItemFailures": []}

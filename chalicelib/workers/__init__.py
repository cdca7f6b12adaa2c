"""SQS and scheduled handlers. Each invocation binds the tables once, in `bind_tables` (app.py
registers it as middleware for every worker event), as http.py does for every route."""
from __future__ import annotations

from typing import Any, Callable

from chalicelib.observability import logger
from chalicelib.persistence.db import configure


def bind_tables(event, get_response):
    configure()
    return get_response(event)


def process_records(event: Any, handle: Callable[[Any], object]) -> dict:
    """`handle` each record of Chalice's SQSEvent (a powertools SQSRecord: `.body`, `.message_id`) with
    powertools' BatchProcessor, and return the partial batch response for Lambda: a record that raises is
    named in `batchItemFailures`, so SQS redelivers it alone while the others are deleted (infra/generate.py
    turns on ReportBatchItemFailures for every queue read in batches of more than one). A batch whose every
    record failed (a batch of one that failed) raises BatchProcessingError instead, so SQS redelivers it."""
    # ~75 ms to import: paid by a worker's first message, not by every function's cold start.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, logger=logger)  # a failed record: logged, traceback
    return process_partial_response(event=event.to_dict(), record_handler=handle, processor=processor)

"""Creates the tables and queues on emulated AWS from the same definitions infra/ is generated from."""
from __future__ import annotations

import json

from chalicelib.config import get_settings
from chalicelib.gateways import mail, queues
from chalicelib.persistence.db import create_tables
from chalicelib.persistence.ledger import ensure_platform_accounts
from chalicelib import clock


def create_queues() -> None:
    settings = get_settings()
    sqs = queues._client()
    for spec in queues.QUEUES:
        dlq_url = sqs.create_queue(QueueName=settings.queue_name(spec.dead_letter))["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.create_queue(
            QueueName=settings.queue_name(spec.logical),
            Attributes={
                "VisibilityTimeout": str(spec.visibility_timeout_seconds),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                             "maxReceiveCount": str(spec.max_receive_count)}),
            },
        )


def provision() -> None:
    create_tables()
    create_queues()
    mail.verify_sender()
    ensure_platform_accounts(clock.now())

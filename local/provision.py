"""Creates the tables and queues on emulated AWS from the same definitions infra/ is generated from: those
missing only, so that `make run` resuming its data (local/snapshot.py) keeps what they hold."""
from __future__ import annotations

import json

from botocore.exceptions import ClientError

from chalicelib.config import get_settings
from chalicelib.gateways import mail, queues
from chalicelib.persistence.db import create_tables


def create_queues() -> None:
    settings = get_settings()
    sqs = queues._client()
    for spec in queues.QUEUES:
        dlq_url = sqs.create_queue(QueueName=settings.queue_name(spec.dead_letter))["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        name = settings.queue_name(spec.logical)
        attributes = {
            "VisibilityTimeout": str(spec.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                         "maxReceiveCount": str(spec.max_receive_count)}),
        }
        try:
            sqs.create_queue(QueueName=name, Attributes=attributes)
        except ClientError as error:
            # `make run` resumed a queue made from an older definition: brought up to date, messages kept.
            if error.response["Error"]["Code"] != "QueueAlreadyExists":
                raise
            sqs.set_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"], Attributes=attributes)


def update_indexes() -> list[str]:
    """Tables `make run` resumed from an older definition get the global secondary indexes and TTL the models
    now declare (moto answers a new index from the items at once); the changes made, e.g. `+users.by_type`."""
    from chalicelib.persistence import db
    from chalicelib.persistence.tables import ALL_MODELS

    client = db.connection().client
    changes = []
    for model in ALL_MODELS:
        table_name = model.Meta.table_name
        schema = model._get_schema()
        described = client.describe_table(TableName=table_name)["Table"]
        present = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
        wanted = {index["index_name"]: index for index in schema["global_secondary_indexes"]}
        updates = [{"Create": {"IndexName": name, "KeySchema": index["key_schema"], "Projection": index["projection"]}}
                   for name, index in wanted.items() if name not in present]
        updates += [{"Delete": {"IndexName": name}} for name in sorted(present - set(wanted))]
        if updates:
            client.update_table(TableName=table_name, AttributeDefinitions=schema["attribute_definitions"],
                                GlobalSecondaryIndexUpdates=updates)
            changes += [f"{'+' if 'Create' in u else '-'}{model.logical_name}.{next(iter(u.values()))['IndexName']}"
                        for u in updates]
        ttl = model._ttl_attribute()
        if ttl is not None:
            current = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") != "ENABLED" or current.get("AttributeName") != ttl.attr_name:
                model.update_ttl(ignore_update_ttl_errors=False)
                changes.append(f"{model.logical_name} TTL {ttl.attr_name}")
    return changes


def provision(resumed: bool = False) -> None:
    """Every table and queue; with `resumed`, those that exist brought up to the current definitions."""
    create_tables()
    if resumed:
        update_indexes()
    create_queues()
    mail.verify_sender()

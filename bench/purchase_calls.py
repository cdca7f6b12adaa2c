"""How many DynamoDB, SQS and Twilio calls a purchase of 10 numbers makes: counted, not estimated.

Runs the real app (chalice.test.Client) on in-process moto with the local Twilio emulator, counts
DynamoDB calls where PynamoDB makes them, SQS calls with a botocore event hook, and Twilio requests
as the emulator serves them.

    .venv/bin/python bench/purchase_calls.py
"""
from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager

from counting import DYNAMODB, product


@contextmanager
def measured(label: str, sqs_calls: Counter, emulator, rows: list):
    DYNAMODB.clear()
    sqs_calls.clear()
    emulator.reset_counts()
    yield
    rows.append((label, sum(DYNAMODB.values()), dict(DYNAMODB), sum(sqs_calls.values()), dict(sqs_calls),
                 emulator.request_count, {f"{m} {k}": n for (m, k), n in emulator.request_counts.items()}))


def main() -> None:
    from chalicelib.gateways import queues
    from local.dispatcher import sqs_event

    rows: list = []
    with product() as (client, api, emulator):
        sqs_calls: Counter = Counter()
        queues._client().meta.events.register("before-call.sqs", lambda model, **_: sqs_calls.update([model.name]))
        buyer = api.register("buyer")
        api.fund(buyer)
        with measured("GET /numbers/search (limit 10, cold)", sqs_calls, emulator, rows):
            found = api.get("/numbers/search?area_code=415&limit=10", token=buyer["token"]).data
        with measured("POST /numbers/purchase (10 numbers)", sqs_calls, emulator, rows):
            placed = api.post("/numbers/purchase", {"numbers": [
                {"phone_number": n["phone_number"], "friendly_name": f"Line {i}"} for i, n in enumerate(found)]},
                token=buyer["token"])
        assert placed.status == 201, placed.body
        [message] = queues._client().receive_message(QueueUrl=queues.queue_url(queues.NUMBER_PROVISIONING))["Messages"]
        with measured("provisioning worker (10 numbers)", sqs_calls, emulator, rows):
            client.lambda_.invoke("provision_numbers", sqs_event([message], "arn:aws:sqs:::q", "us-east-1"))
        order = api.get(f"/orders/{placed.data['order_id']}", token=buyer["token"]).data
        assert order["status"] == "COMPLETED", order

    for label, dynamo_total, dynamo, sqs_total, sqs, twilio_total, twilio in rows:
        print(f"{label}\n  DynamoDB {dynamo_total:3d}  {json.dumps(dynamo)}\n"
              f"  SQS      {sqs_total:3d}  {json.dumps(sqs)}\n  Twilio   {twilio_total:3d}  {json.dumps(twilio)}")
    print(f"total for a purchase of 10 (purchase + worker): DynamoDB {rows[1][1] + rows[2][1]}, "
          f"SQS {rows[1][3] + rows[2][3]}, Twilio {rows[1][5] + rows[2][5]}")


if __name__ == "__main__":
    main()

"""How many DynamoDB, SQS and Twilio calls a purchase of 10 numbers makes: counted, not estimated.

Runs the real app (chalice.test.Client) on in-process moto with the local Twilio emulator, counts
DynamoDB calls where PynamoDB makes them, SQS calls with a botocore event hook, and Twilio requests
as the emulator serves them.

    .venv/bin/python bench/purchase_calls.py
"""
from __future__ import annotations

import json
import os
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                   "STAGE": "bench", "JWT_SECRET": "bench-secret-0123456789abcdef0123456789abcdef"})

DYNAMODB: Counter = Counter()


def _count_dynamodb() -> None:
    from pynamodb.connection.base import Connection

    original = Connection._make_api_call

    def counted(self, operation_name, operation_kwargs, *args, **kwargs):
        DYNAMODB[operation_name] += 1
        return original(self, operation_name, operation_kwargs, *args, **kwargs)

    Connection._make_api_call = counted


@contextmanager
def measured(label: str, sqs_calls: Counter, emulator, rows: list):
    DYNAMODB.clear()
    sqs_calls.clear()
    emulator.reset_counts()
    yield
    rows.append((label, sum(DYNAMODB.values()), dict(DYNAMODB), sum(sqs_calls.values()), dict(sqs_calls),
                 emulator.request_count, {f"{m} {k}": n for (m, k), n in emulator.request_counts.items()}))


def main() -> None:
    from moto import mock_aws

    from chalicelib.local.twilio_emulator import TwilioEmulator

    _count_dynamodb()
    with TwilioEmulator() as emulator, mock_aws():
        os.environ.update({"TWILIO_API_BASE_URL": emulator.url, "TWILIO_ACCOUNT_SID": emulator.account_sid,
                           "TWILIO_AUTH_TOKEN": emulator.auth_token})
        from chalice.test import Client

        from app import app
        from chalicelib.gateways import queues
        from chalicelib.local.dispatcher import sqs_event
        from chalicelib.local.provision import provision
        from chalicelib.services.identity import ensure_admin, login
        from tests.helpers import Api

        provision()
        sqs_calls: Counter = Counter()
        queues._client().meta.events.register(
            "before-call.sqs", lambda model, **_: sqs_calls.update([model.name]))
        rows: list = []
        with Client(app) as client:
            api = Api(client)
            buyer = api.register("buyer")
            ensure_admin("bench-admin@example.com", "Bench!Admin1")
            admin = login("bench-admin@example.com", "Bench!Admin1").access_token
            api.post(f"/admin/users/{buyer['user']['id']}/credits", {"amount": "100", "reason": "bench"},
                     token=admin)
            with measured("GET /numbers/search (limit 10, cold)", sqs_calls, emulator, rows):
                found = api.get("/numbers/search?area_code=415&limit=10", token=buyer["token"]).data
            with measured("POST /numbers/purchase (10 numbers)", sqs_calls, emulator, rows):
                placed = api.post("/numbers/purchase", {"numbers": [
                    {"phone_number": n["phone_number"], "friendly_name": f"Line {i}"} for i, n in enumerate(found)]},
                    token=buyer["token"])
            assert placed.status == 201, placed.body
            url = queues.queue_url(queues.NUMBER_PROVISIONING)
            [message] = queues._client().receive_message(QueueUrl=url)["Messages"]
            event = sqs_event([message], "arn:aws:sqs:::q", "us-east-1")
            with measured("provisioning worker (10 numbers)", sqs_calls, emulator, rows):
                client.lambda_.invoke("provision_numbers", event)
            order = api.get(f"/orders/{placed.data['order_id']}", token=buyer["token"]).data
            assert order["status"] == "COMPLETED", order

    for label, dynamo_total, dynamo, sqs_total, sqs, twilio_total, twilio in rows:
        print(f"{label}\n  DynamoDB {dynamo_total:3d}  {json.dumps(dynamo)}\n"
              f"  SQS      {sqs_total:3d}  {json.dumps(sqs)}\n  Twilio   {twilio_total:3d}  {json.dumps(twilio)}")
    print(f"total for a purchase of 10 (purchase + worker): DynamoDB {rows[1][1] + rows[2][1]}, "
          f"SQS {rows[1][3] + rows[2][3]}, Twilio {rows[1][5] + rows[2][5]}")


if __name__ == "__main__":
    main()

"""Live calls: DynamoDB and Twilio REST calls per voice webhook and per status callback, and the voice
webhook's in-process time to TwiML over 500 calls (Twilio waits at most 15 s; the aim is < 50 ms).

    .venv/bin/python bench/webhook_calls.py
"""
from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlencode

from counting import DYNAMODB, counted, product

CALLS = 500
BASE = "http://127.0.0.1:8000"  # PUBLIC_BASE_URL's default
NUMBER, CALLER = "+14155550100", "+14155552671"
ALL_TERMS = {"conversion_seconds": 60, "record_calls": True, "blocked_callers": ["+1212", "+44"],
             "schedule": {"timezone": "UTC", "windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                                          "start_time": "00:00", "end_time": "23:59"}]},
             "caps": {"concurrency": 1000, "hourly": 10_000, "daily": 100_000, "monthly": 1_000_000}}


def main() -> None:
    with product() as (client, api, emulator):
        from twilio.request_validator import RequestValidator

        from chalicelib.domain import numbers as rules
        from chalicelib.persistence.tables import NumberModel, PhoneClaimModel

        validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])

        def post(path: str, params: dict) -> object:
            url = f"{BASE}/api/v1{path}"
            return client.http.request("POST", f"/api/v1{path}", body=urlencode(params), headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": validator.compute_signature(url, params)})

        buyer = api.register("buyer")
        owner, now = buyer["user"]["id"], datetime.now(timezone.utc)
        number_id = str(uuid.uuid4())
        NumberModel(number_id=number_id, owner_id=owner, order_id=number_id, phone_number=NUMBER,
                    owner_status=f"{owner}#ACTIVE", twilio_sid="PN" + "1" * 32, friendly_name="Bench",
                    number_type="local", country_code="US", status=rules.ACTIVE, routing=rules.EXCHANGE,
                    setup_price=0, monthly_price=0, billed_through="2026-11", created_at=now, updated_at=now).save()
        PhoneClaimModel(phone_number=NUMBER, number_id=number_id, owner_id=owner).save()
        for i in range(3):
            seller = api.register("seller")
            api.fund(seller, "100000.00")
            best = api.post("/bid-profiles", {"bid_amount": f"{3 + i}.00", "destination_number": f"+1312555000{i}"},
                            token=seller["token"]).data

        rows: list = []
        emulator.reset_counts()
        sid = "CA" + uuid.uuid4().hex
        with counted("voice webhook (rings the best seller)", rows):
            assert post("/webhooks/twilio/voice", {"CallSid": sid, "From": CALLER, "To": NUMBER}).status_code == 200
        with counted("status callback (ringing)", rows):
            post("/webhooks/twilio/status", {"CallSid": "CA" + uuid.uuid4().hex, "ParentCallSid": sid,
                                             "CallStatus": "ringing"})
        with counted("status callback (completed, bills)", rows):
            post("/webhooks/twilio/status", {"CallSid": "CA" + uuid.uuid4().hex, "ParentCallSid": sid,
                                             "CallStatus": "completed", "CallDuration": "95"})
        with counted("dial action (completed, already billed)", rows):
            post("/webhooks/twilio/dial", {"CallSid": sid, "DialCallStatus": "completed", "DialCallDuration": "95"})
        second = "CA" + uuid.uuid4().hex
        post("/webhooks/twilio/voice", {"CallSid": second, "From": CALLER, "To": NUMBER})
        with counted("dial action (no-answer: rings the next)", rows):
            post("/webhooks/twilio/dial", {"CallSid": second, "DialCallStatus": "no-answer"})
        # The best profile with every term set (open now, below its caps, not blocking the caller).
        assert api.put(f"/bid-profiles/{best['id']}", {**ALL_TERMS, "criteria": {"max_budget": "1000.00"}},
                       token=seller["token"]).status == 200
        third = "CA" + uuid.uuid4().hex
        with counted("voice webhook (best profile with every term)", rows):
            assert b"<Dial" in post("/webhooks/twilio/voice", {"CallSid": third, "From": CALLER, "To": NUMBER}).body
        with counted("status callback (in-progress: counts in caps)", rows):
            post("/webhooks/twilio/status", {"CallSid": "CA" + uuid.uuid4().hex, "ParentCallSid": third,
                                             "CallStatus": "in-progress"})
        with counted("dial action (completed: bills, every term)", rows):
            post("/webhooks/twilio/dial", {"CallSid": third, "DialCallStatus": "completed", "DialCallDuration": "95"})
        twilio_calls = emulator.request_count

        from pynamodb.connection.base import Connection

        in_dynamodb = [0.0]
        original = Connection._make_api_call

        def timed(self, *args, **kwargs):
            started = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                in_dynamodb[0] += time.perf_counter() - started

        Connection._make_api_call = timed
        timings, ours = [], []
        for _ in range(CALLS):
            params = {"CallSid": "CA" + uuid.uuid4().hex, "From": CALLER, "To": NUMBER}
            in_dynamodb[0] = 0.0
            started = time.perf_counter()
            response = post("/webhooks/twilio/voice", params)
            timings.append(time.perf_counter() - started)
            ours.append(timings[-1] - in_dynamodb[0])
            assert b"<Dial" in (response.body if isinstance(response.body, bytes) else response.body.encode())
        DYNAMODB.clear()

    print("DynamoDB calls per webhook request (Twilio REST calls made by all of them: "
          f"{twilio_calls})")
    for label, total, by_operation in rows:
        print(f"  {label:42s} {total:3d}  {json.dumps(by_operation)}")
    ordered = sorted(timings)
    own = sorted(ours)
    print(f"voice webhook, in-process time to TwiML over {CALLS} calls: p50 {statistics.median(ordered) * 1000:.1f} ms"
          f"  p99 {ordered[int(CALLS * 0.99) - 1] * 1000:.1f} ms  (in-process moto)")
    print(f"  of which outside DynamoDB (the product's own work): p50 {statistics.median(own) * 1000:.1f} ms"
          f"  p99 {own[int(CALLS * 0.99) - 1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()

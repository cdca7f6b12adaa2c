"""What a rate limit costs a request: its DynamoDB calls with the limit counted and without it (the count is an
UpdateItem with ReturnValues, the only write it adds), for an authenticated read, a narrower limit (number
search), the unauthenticated identity routes (per client address) and a webhook (never limited).

    .venv/bin/python bench/rate_limit_calls.py
"""
from __future__ import annotations

import json
from contextlib import contextmanager

from counting import DYNAMODB, product


@contextmanager
def limits_off():
    """The same request with its count skipped (what the route cost before rate limits)."""
    from chalicelib import clock
    from chalicelib.domain import limits
    from chalicelib.services import rate_limits

    original = rate_limits.check
    rate_limits.check = lambda limit, subject: limits.Quota(1, 0, limits.window(clock.now()))
    try:
        yield
    finally:
        rate_limits.check = original


WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


def measure(send) -> dict:
    DYNAMODB.clear()
    status = send()
    return {"status": status, "calls": sum(DYNAMODB.values()), "writes": sum(DYNAMODB[w] for w in WRITES),
            "by_operation": dict(DYNAMODB)}


def main() -> None:
    rows = []
    with product() as (client, api, _):
        buyer = api.register("buyer")
        api.get("/numbers/search?country_code=US&limit=1", token=buyer["token"])  # the search cache is warm
        requests = {
            "GET /profile (per user)": lambda: api.get("/profile", token=buyer["token"]).status,
            "GET /calls (per user)": lambda: api.get("/calls", token=buyer["token"]).status,
            "GET /numbers/search (user + search)": lambda: api.get("/numbers/search?country_code=US&limit=1",
                                                                  token=buyer["token"]).status,
            "POST /auth/login, wrong password (per IP)": lambda: api.post(
                "/auth/login", {"email": "nobody@example.com", "password": "Wr0ng!Password"}).status,
            "POST /auth/forgot-password (per IP)": lambda: api.post(
                "/auth/forgot-password", {"email": "nobody@example.com"}).status,
            "POST /webhooks/twilio/voice (not limited)": lambda: client.http.request(
                "POST", "/api/v1/webhooks/twilio/voice", body="CallSid=CA1",
                headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code,
        }
        for label, send in requests.items():
            limited = measure(send)
            with limits_off():
                unlimited = measure(send)
            rows.append((label, limited, unlimited))
    print("DynamoDB calls per request with the rate limit counted, and without it")
    for label, limited, unlimited in rows:
        extra = limited["writes"] - unlimited["writes"]
        print(f"  {label:45s} {limited['status']}  calls {limited['calls']:2d} (without {unlimited['calls']:2d})  "
              f"extra writes {extra}  {json.dumps(limited['by_operation'])}")


if __name__ == "__main__":
    main()

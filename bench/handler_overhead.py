"""Handler time ÷ raw DynamoDB time for POST /calls and POST /bids, side by side in one run.

Each request runs through the real app (chalice.test.Client, in-process moto) while its DynamoDB
operations are recorded; the same operations are then replayed with a plain boto3 client against the
same moto. The ratio is what the product adds on top of the DynamoDB work it asks for (routing, JWT,
validation, PynamoDB, the envelope). Rounds alternate app and replay, so both see the same machine.

    .venv/bin/python bench/handler_overhead.py
"""
from __future__ import annotations

import statistics
import time

from counting import product

REQUESTS = 300
ROUNDS = 3


def record_operations():
    """Wraps PynamoDB's single exit to DynamoDB: every operation (name, kwargs) the app sends."""
    from pynamodb.connection.base import Connection

    recorded: list = []
    original = Connection._make_api_call

    def recording(self, operation_name, operation_kwargs, *args, **kwargs):
        recorded.append((operation_name, operation_kwargs))
        return original(self, operation_name, operation_kwargs, *args, **kwargs)

    Connection._make_api_call = recording
    return recorded


def replay(client, operations) -> None:
    from botocore.exceptions import ClientError

    for name, kwargs in operations:
        try:
            client._make_api_call(name, kwargs)
        except ClientError:  # a replayed create-only write fails its condition: the same work for DynamoDB
            pass


def measure(label: str, send, recorded: list, boto) -> tuple[float, float]:
    handler, raw = [], []
    for _ in range(ROUNDS):
        operations = []
        for i in range(REQUESTS // ROUNDS):
            recorded.clear()
            started = time.perf_counter()
            send(i)
            handler.append(time.perf_counter() - started)
            operations.append(list(recorded))
        for ops in operations:
            started = time.perf_counter()
            replay(boto, ops)
            raw.append(time.perf_counter() - started)
    h, r = statistics.median(handler) * 1000, statistics.median(raw) * 1000
    print(f"  {label:12s} handler p50 {h:7.2f} ms   raw DynamoDB p50 {r:7.2f} ms   ratio {h / r:5.2f}")
    return h, r


def main() -> None:
    import boto3

    with product() as (client, api, _):
        buyer, seller = api.register("buyer"), api.register("seller")
        api.fund(buyer, "10.00")
        api.fund(seller)
        api.post("/bid-profiles", {"bid_amount": "2.00", "destination_number": "+13125552671"}, token=seller["token"])
        body = {"from_number": "+14155552671", "to_number": "+12125552671", "direction": "inbound"}
        auctions = []
        for _ in range(REQUESTS):
            call = api.post("/calls", body, token=buyer["token"]).data
            auctions.append(api.post("/auctions", {"call_id": call["id"], "reserve_price": "1.00", "duration": 600},
                                     token=buyer["token"]).data["id"])
        boto = boto3.client("dynamodb", region_name="us-east-1")
        recorded = record_operations()
        bids = iter(auctions)

        def create_call(_):
            assert api.post("/calls", body, token=buyer["token"]).status == 201

        def place_bid(_):
            assert api.post("/bids", {"auction_id": next(bids), "amount": "1.50"}, token=seller["token"]).status == 201

        print(f"Handler time against the same DynamoDB operations replayed with boto3 ({REQUESTS} requests each)")
        measure("POST /calls", create_call, recorded, boto)
        measure("POST /bids", place_bid, recorded, boto)


if __name__ == "__main__":
    main()

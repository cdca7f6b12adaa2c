"""DynamoDB calls (and sends) per published outbox item (the realtime events of one commit: their users'
feeds and the fan-out), on in-process moto: the app's own handlers and publisher, the product's
apigatewaymanagementapi client sending to the local connection management endpoint (which counts messages
instead of writing to sockets).

    .venv/bin/python bench/websocket_calls.py
"""
from __future__ import annotations

import json
import os
import uuid

from counting import DYNAMODB, product  # noqa: I001 - sets up the environment first

# Calls, not the rate limits: one client registers a hundred sellers here.
os.environ.setdefault("AUTH_RATE_LIMIT_PER_MINUTE", "100000000")
os.environ.setdefault("RATE_LIMIT_PER_MINUTE", "100000000")

SUBSCRIBERS = 100
CALL = {"from_number": "+14155552671", "to_number": "+12125552671", "direction": "inbound"}


class Sockets:
    def __init__(self):
        self.open: dict[str, int] = {}

    def deliver(self, connection_id: str, data: bytes) -> bool:
        if connection_id not in self.open:
            return False
        self.open[connection_id] += 1
        return True

    def close(self, connection_id: str) -> bool:
        return self.open.pop(connection_id, None) is not None

    def info(self, connection_id: str) -> dict | None:
        return {} if connection_id in self.open else None


def main() -> None:
    from local.connections_endpoint import ConnectionsEndpoint
    from local.websocket_server import api_gateway_event

    sockets = Sockets()
    endpoint = ConnectionsEndpoint("127.0.0.1", 0, sockets).start()
    os.environ["WEBSOCKET_ENDPOINT"] = endpoint.url
    rows = []
    with product() as (client, api, _emulator):
        from chalice.app import DynamoDBEventConfig

        from app import app
        from chalicelib.config import get_settings
        from chalicelib.persistence.outbox import from_image
        from chalicelib.services.outbox import publish
        from local.dispatcher import Dispatcher

        get_settings()  # read before any invocation (they run with .chalice/config.json's variables)
        source = next(s for s in app.event_sources if isinstance(s, DynamoDBEventConfig))
        stream = Dispatcher(app, None, str, "us-east-1")
        arn, position = stream.stream_arn(source), [None]

        def drain() -> list:
            """The outbox items written since the last drain (read from the table's stream, not published)."""
            items = []
            while records := stream.read_stream(arn, position[0], 100):
                position[0] = records[-1]["dynamodb"]["SequenceNumber"]
                items += [from_image(r["dynamodb"]["NewImage"]) for r in records if r["eventName"] == "INSERT"]
            return items

        def connect(user: dict) -> str:
            connection_id = uuid.uuid4().hex[:12]
            answer = client.lambda_.invoke("ws_connect", api_gateway_event(
                "$connect", "CONNECT", connection_id, query={"token": user["token"]})).payload
            assert answer["statusCode"] == 200, answer
            sockets.open[connection_id] = 0
            return connection_id

        def measure(label: str, items: list) -> None:
            DYNAMODB.clear()
            before = sum(sockets.open.values())
            for item in items:
                publish(item)
            rows.append((label, sum(DYNAMODB.values()), dict(DYNAMODB), sum(sockets.open.values()) - before))

        buyer = api.register("buyer")
        api.fund(buyer, "10.00")
        sellers = [api.register("seller") for _ in range(SUBSCRIBERS)]
        for seller in sellers:
            api.fund(seller, "50.00")
            assert api.post("/bid-profiles", {"criteria": {"geography": {"countries": ["US"]}}, "bid_amount": "2.00",
                                              "destination_number": "+13125552671"}, token=seller["token"]).status == 201
        connections = {seller["user"]["id"]: connect(seller) for seller in sellers}
        connect(buyer)
        drain()

        call = api.post("/calls", CALL, token=buyer["token"]).data
        auction_id = api.post("/auctions", {"call_id": call["id"], "reserve_price": "1.00", "duration": 60},
                              token=buyer["token"]).data["id"]
        started = [item for item in drain() if item.events and item.events[0]["type"] == "auction.started"]
        measure(f"auction.started to {SUBSCRIBERS} matching sellers", started)

        for seller in sellers:
            client.lambda_.invoke("ws_message", api_gateway_event(
                "$default", "MESSAGE", connections[seller["user"]["id"]],
                body=json.dumps({"action": "subscribe", "auction_id": auction_id})))
        drain()
        assert api.post("/bids", {"auction_id": auction_id, "amount": "3.00"}, token=sellers[0]["token"]).status == 201
        assert api.post("/bids", {"auction_id": auction_id, "amount": "4.00"}, token=sellers[1]["token"]).status == 201
        bids = drain()
        measure(f"bid.placed + bid.outbid (buyer and {SUBSCRIBERS} subscribers; one bid)", bids[-1:])

        assert api.post(f"/auctions/{auction_id}/complete", {}, token=buyer["token"]).status == 200
        measure("auction.won + auction.lost (2 bidders)", drain())

        api.fund(buyer, "1.00")
        measure("balance.changed (1 user, connected)", drain())

        routed = api.post(f"/calls/{call['id']}/route", {}, token=buyer["token"])
        assert routed.status == 200, routed.body
        bodies = drain()
        measure("call.status_changed (buyer and seller) + balance.changed (seller's hold)", bodies)

    endpoint.stop()
    print("DynamoDB calls per published outbox item (feeds and fan-out; one item unless said):")
    for label, total, by_operation, sent in rows:
        print(f"  {label}: {total} DynamoDB calls {by_operation}, {sent} messages sent")


if __name__ == "__main__":
    main()

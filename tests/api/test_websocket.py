"""The WebSocket API's handlers and the events' fan-out, on moto, in-process.

The handlers are invoked as Lambda invokes them (API Gateway's event shapes, local/websocket_server.py
builds them); what they send goes through the product's apigatewaymanagementapi client to the local
connection management endpoint (a real HTTP server), which hands each message to `Sockets` below instead
of a socket. What the requests owe is read from the outbox table's stream and handed to its handler (as
Lambda would, tests/outbox.py), which sends the events; then the events queue's messages (closings) are
given to its worker, one at a time.
"""
from __future__ import annotations

import json
import uuid

import pytest

from local.connections_endpoint import ConnectionsEndpoint
from local.websocket_server import api_gateway_event
from tests.helpers import Api

CALL_FROM_CA = {"from_number": "+14155552671", "to_number": "+12125552671", "direction": "inbound"}


class Sockets:
    """Open connections and what each was sent (and whether the server closed it)."""

    def __init__(self):
        self.open: dict[str, list[dict]] = {}
        self.closed: list[str] = []
        self.sent_before_closing: dict[str, list[dict]] = {}

    def deliver(self, connection_id: str, data: bytes) -> bool:
        if connection_id not in self.open:
            return False
        self.open[connection_id].append(json.loads(data))
        return True

    def close(self, connection_id: str) -> bool:
        if (sent := self.open.pop(connection_id, None)) is None:
            return False
        self.closed.append(connection_id)
        self.sent_before_closing[connection_id] = sent
        return True

    def info(self, connection_id: str) -> dict | None:
        return {"connectedAt": 0} if connection_id in self.open else None


@pytest.fixture
def sockets(monkeypatch, aws):
    from chalicelib.config import get_settings, reset_settings
    from chalicelib.gateways import websocket

    endpoint = ConnectionsEndpoint("127.0.0.1", 0, Sockets()).start()
    monkeypatch.setenv("WEBSOCKET_ENDPOINT", endpoint.url)
    reset_settings()
    get_settings()  # read now: Lambda invocations below run with .chalice/config.json's variables set
    websocket.reset()
    try:
        yield endpoint.sockets
    finally:
        endpoint.stop()
        monkeypatch.delenv("WEBSOCKET_ENDPOINT")
        reset_settings()
        websocket.reset()


class Realtime:
    def __init__(self, client, sockets: Sockets, outbox):
        self.client, self.sockets, self.outbox = client, sockets, outbox

    def connect(self, token: str | None) -> tuple[int, str]:
        connection_id = uuid.uuid4().hex[:12]
        query = {"token": token} if token is not None else None
        answer = self.client.lambda_.invoke("ws_connect", api_gateway_event(
            "$connect", "CONNECT", connection_id, query=query)).payload
        if answer["statusCode"] == 200:
            self.sockets.open[connection_id] = []
        return answer["statusCode"], connection_id

    def send(self, connection_id: str, body: str) -> dict:
        received = self.exchange(connection_id, body)
        assert len(received) == 1, received
        return received[0]

    def exchange(self, connection_id: str, body: str) -> list[dict]:
        """Everything a message makes the server send on its connection (a resume: the events, then its answer)."""
        before = len(self.sockets.open[connection_id])
        self.client.lambda_.invoke("ws_message", api_gateway_event("$default", "MESSAGE", connection_id, body=body))
        sent = self.sockets.open.get(connection_id) or self.sockets.sent_before_closing.get(connection_id, [])
        return sent[before:]

    def disconnect(self, connection_id: str) -> None:
        self.sockets.open.pop(connection_id, None)
        self.client.lambda_.invoke("ws_disconnect", api_gateway_event("$disconnect", "DISCONNECT", connection_id))

    def fan_out(self) -> list[dict]:
        """Everything owed so far: the outbox's new stream records through their handler (events to the sockets,
        messages to their queues), then the events queue's messages (closings) through its worker. The outbox
        items published."""
        published = self.outbox.publish()
        self.closings()
        return [item for item in published if item["eventName"] == "INSERT"]

    def closings(self) -> list[dict]:
        """Every message of the events queue through its worker, as the SQS event source would."""
        from chalicelib.gateways import queues

        sqs, url = queues._client(), queues.queue_url(queues.EVENTS)
        results = []
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return results
            for message in messages:
                event = self.client.events.generate_sqs_event(message_bodies=[message["Body"]], queue_name="events")
                self.client.lambda_.invoke("deliver_events", event)
                results.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def received(self, connection_id: str, event_type: str | None = None) -> list[dict]:
        return [m for m in self.sockets.open.get(connection_id, []) if event_type in (None, m.get("type"))]


@pytest.fixture
def rt(client, sockets, outbox):
    return Realtime(client, sockets, outbox)


@pytest.fixture
def api(client):
    return Api(client)


def seller(api: Api, states: list[str] | None = None, bid: str = "2.00") -> dict:
    user = api.register("seller")
    api.fund(user, "50.00")
    geography = {"countries": ["US"], **({"states": states} if states else {})}
    created = api.post("/bid-profiles", {"criteria": {"geography": geography}, "bid_amount": bid,
                                         "destination_number": "+13125552671"}, token=user["token"])
    assert created.status == 201, created.body
    return user


def auction(api: Api, buyer: dict, reserve: str = "1.00") -> str:
    call = api.post("/calls", CALL_FROM_CA, token=buyer["token"])
    assert call.status == 201, call.body
    opened = api.post("/auctions", {"call_id": call.data["id"], "reserve_price": reserve, "duration": 60},
                      token=buyer["token"])
    assert opened.status == 201, opened.body
    return opened.data["id"]


# --- connecting -----------------------------------------------------------------------------------

def test_a_valid_access_token_connects_and_anything_else_is_refused(api, rt):
    from chalicelib.persistence.connections import ConnectionModel

    user = api.register("seller")
    status, connection_id = rt.connect(user["token"])
    assert status == 200
    assert ConnectionModel.get(connection_id).user_id == user["user"]["id"]
    assert rt.connect(None)[0] == 401
    assert rt.connect("not-a-token")[0] == 401
    assert rt.connect(user["token"][:-2] + "xx")[0] == 401


def test_a_revoked_session_or_a_suspended_user_is_refused(api, rt):
    user, other = api.register("seller"), api.register("buyer")
    assert api.post("/auth/logout", {}, token=user["token"]).status in (200, 204)
    assert rt.connect(user["token"])[0] == 401
    admin = api.admin()
    assert api.put(f"/admin/users/{other['user']['id']}/suspend", {"reason": "fraud"}, token=admin["token"]).status == 200
    assert rt.connect(other["token"])[0] in (401, 403)


def test_disconnect_forgets_the_connection_and_its_subscriptions(api, rt):
    from chalicelib.persistence.connections import ConnectionModel, of_users, subscribers

    buyer = api.register("buyer")
    auction_id = auction(api, buyer)
    _, connection_id = rt.connect(buyer["token"])
    assert rt.send(connection_id, json.dumps({"action": "subscribe", "auction_id": auction_id}))["type"] == "subscribed"
    assert subscribers(auction_id) == [connection_id]
    _, other = rt.connect(buyer["token"])
    assert of_users([buyer["user"]["id"]]) == {buyer["user"]["id"]: sorted([connection_id, other])}
    rt.disconnect(connection_id)
    assert subscribers(auction_id) == []
    assert of_users([buyer["user"]["id"]]) == {buyer["user"]["id"]: [other]}
    with pytest.raises(ConnectionModel.DoesNotExist):
        ConnectionModel.get(connection_id)


# --- messages -------------------------------------------------------------------------------------

def test_ping_pong_and_errors_that_never_echo_the_input(api, rt):
    _, connection_id = rt.connect(api.register("seller")["token"])
    assert rt.send(connection_id, '{"action": "ping"}') == {"type": "pong"}
    for body in ("<script>alert(1)</script>", '{"action": "<img src=x>"}', "[1, 2]", '"ping"',
                 '{"action": "subscribe", "auction_id": "<b>x</b>"}', "x" * 5000):
        reply = rt.send(connection_id, body)
        assert reply["type"] == "error" and set(reply) == {"type", "code", "message"}
        assert "<" not in json.dumps(reply) and "xxxx" not in reply["message"]
    assert rt.send(connection_id, "not json")["code"] == "INVALID_JSON"
    missing = rt.send(connection_id, json.dumps({"action": "subscribe", "auction_id": str(uuid.uuid4())}))
    assert missing["code"] == "AUCTION_NOT_FOUND"


# --- events ---------------------------------------------------------------------------------------

def test_auction_started_reaches_matching_sellers_only_and_never_the_callers_number(api, rt):
    buyer = api.register("buyer")
    california, texas = seller(api, ["CA"]), seller(api, ["TX"])
    connections = {name: rt.connect(user["token"])[1] for name, user in
                   (("buyer", buyer), ("california", california), ("texas", texas))}
    auction_id = auction(api, buyer)
    rt.fan_out()
    started = rt.received(connections["california"], "auction.started")
    assert len(started) == 1
    event = started[0]
    assert set(event) == {"type", "event_id", "seq", "occurred_at", "data"}
    assert event["data"]["auction"]["id"] == auction_id
    assert (event["data"]["country"], event["data"]["state"]) == ("US", "CA")
    assert CALL_FROM_CA["from_number"] not in json.dumps(event) and "+1415" not in json.dumps(event)
    assert rt.received(connections["texas"], "auction.started") == []
    assert rt.received(connections["buyer"], "auction.started") == []


def test_bids_are_placed_outbid_then_won_and_lost(api, rt, clock):
    buyer = api.register("buyer")
    first, second, watcher = seller(api), seller(api), seller(api, ["TX"])
    auction_id = auction(api, buyer)
    ids = {name: rt.connect(user["token"])[1] for name, user in
           (("buyer", buyer), ("first", first), ("second", second), ("watcher", watcher))}
    assert rt.send(ids["watcher"], json.dumps({"action": "subscribe", "auction_id": auction_id}))["type"] == "subscribed"
    rt.fan_out()  # auction.started
    assert api.post("/bids", {"auction_id": auction_id, "amount": "3.00"}, token=first["token"]).status == 201
    assert api.post("/bids", {"auction_id": auction_id, "amount": "4.00"}, token=second["token"]).status == 201
    rt.fan_out()

    placed = rt.received(ids["buyer"], "bid.placed")
    assert [e["data"]["amount"] for e in placed] == ["3.00", "4.00"]
    assert [e["data"]["amount"] for e in rt.received(ids["watcher"], "bid.placed")] == ["3.00", "4.00"]
    for event in placed:  # never who bid
        assert first["user"]["id"] not in json.dumps(event) and second["user"]["id"] not in json.dumps(event)
    assert rt.received(ids["first"], "bid.placed") == []  # not subscribed
    outbid = rt.received(ids["first"], "bid.outbid")
    assert [e["data"]["amount"] for e in outbid] == ["4.00"]
    assert rt.received(ids["second"], "bid.outbid") == [] and rt.received(ids["buyer"], "bid.outbid") == []

    assert api.post(f"/auctions/{auction_id}/complete", {}, token=buyer["token"]).status == 200
    rt.fan_out()
    assert [e["data"]["auction_id"] for e in rt.received(ids["second"], "auction.won")] == [auction_id]
    assert [e["data"]["auction_id"] for e in rt.received(ids["first"], "auction.lost")] == [auction_id]
    assert rt.received(ids["first"], "auction.won") == [] and rt.received(ids["watcher"], "auction.lost") == []


def test_call_status_and_balance_events_reach_the_buyer_and_the_seller(api, rt):
    buyer, taker = api.register("buyer"), seller(api)
    api.fund(buyer, "10.00")
    ids = {"buyer": rt.connect(buyer["token"])[1], "seller": rt.connect(taker["token"])[1]}
    call = api.post("/calls", CALL_FROM_CA, token=buyer["token"]).data
    assert api.post(f"/calls/{call['id']}/route", {}, token=buyer["token"]).status == 200
    for status in ("ringing", "in_progress"):
        assert api.call("PATCH", f"/calls/{call['id']}/status", {"status": status}, token=buyer["token"]).status == 200
    assert api.post(f"/calls/{call['id']}/complete", {"duration": 95}, token=buyer["token"]).status == 200
    rt.fan_out()
    for who in ("buyer", "seller"):
        moves = [e["data"]["status"] for e in rt.received(ids[who], "call.status_changed")]
        assert moves == ["queued", "ringing", "in_progress"], (who, moves)
        completed = rt.received(ids[who], "call.completed")
        assert [(e["data"]["call_id"], e["data"]["duration"]) for e in completed] == [(call["id"], 95)]
    balances = rt.received(ids["seller"], "balance.changed")
    assert balances and balances[-1]["data"]["balance"] == "48.00" and balances[-1]["data"]["held"] == "0.00"
    assert rt.received(ids["buyer"], "balance.changed")


def test_events_are_delivered_again_with_the_same_id_and_seq_and_a_gone_connection_is_removed(api, rt):
    from chalicelib.persistence.connections import ConnectionModel

    buyer = api.register("buyer")
    _, kept = rt.connect(buyer["token"])
    _, gone = rt.connect(buyer["token"])
    rt.sockets.open.pop(gone)  # the client vanished without a $disconnect: the endpoint answers 410
    rt.fan_out()  # what the connections owe (their closing when their tokens expire)
    api.fund(buyer, "5.00")
    records = rt.outbox.read()
    assert len(records) == 1
    for _ in range(2):  # the stream delivering the record again (a handler failed after sending)
        assert rt.outbox.hand_over(records) == {"batchItemFailures": []}
    received = rt.received(kept, "balance.changed")
    assert len(received) == 2 and received[0] == received[1]  # the same event_id, the same seq
    assert received[0]["seq"] == 1
    with pytest.raises(ConnectionModel.DoesNotExist):
        ConnectionModel.get(gone)


def test_suspension_and_logout_everywhere_close_the_users_connections(api, rt):
    suspended, leaving, staying = api.register("seller"), api.register("buyer"), api.register("buyer")
    ids = {name: rt.connect(user["token"])[1] for name, user in
           (("suspended", suspended), ("leaving", leaving), ("staying", staying))}
    admin = api.admin()
    assert api.put(f"/admin/users/{suspended['user']['id']}/suspend", {"reason": "fraud"},
                   token=admin["token"]).status == 200
    assert api.post("/auth/logout", {"all_devices": True}, token=leaving["token"]).status in (200, 204)
    rt.fan_out()
    assert sorted(rt.sockets.closed) == sorted([ids["suspended"], ids["leaving"]])
    assert ids["staying"] in rt.sockets.open


def test_subscribing_a_connection_that_closed_meanwhile_leaves_nothing_behind(api, rt):
    from chalicelib.persistence import connections

    buyer = api.register("buyer")
    auction_id = auction(api, buyer)
    _, connection_id = rt.connect(buyer["token"])
    read = connections.get(connection_id)
    rt.disconnect(connection_id)  # between the message's read of its connection and its write
    assert connections.subscribe(read, auction_id) is False
    assert connections.subscribers(auction_id) == [] and connections.get(connection_id) is None


def test_the_events_of_a_request_are_stored_with_its_changes_and_numbered_per_user(api, rt):
    """Routing commits the call's move and the seller's hold: their events are stored with those writes (the
    outbox), and each user's share gets the next seqs of that user's feed."""
    from chalicelib.persistence import event_feed

    buyer, taker = api.register("buyer"), seller(api)
    api.fund(buyer, "10.00")
    call = api.post("/calls", CALL_FROM_CA, token=buyer["token"]).data
    rt.fan_out()  # what registration, funding and the new call owed
    before = {who["user"]["id"]: event_feed.last_seq(who["user"]["id"]) for who in (buyer, taker)}
    assert api.post(f"/calls/{call['id']}/route", {}, token=buyer["token"]).status == 200
    owed = rt.outbox.items()
    assert {e["type"] for item in owed for e in item.events} == {"call.status_changed", "balance.changed"}
    rt.outbox.after = None  # hand them over from the start of this test's stream
    rt.fan_out()
    for who, types in ((buyer, ["call.status_changed"]), (taker, ["call.status_changed", "balance.changed"])):
        user_id = who["user"]["id"]
        assert event_feed.last_seq(user_id) == before[user_id] + len(types)

"""The realtime API over HTTP and WebSocket against the running product (`make run`): real sockets on the
WebSocket server it printed, events published from the outbox table's stream (read by the dispatcher) through
the apigatewaymanagementapi client and the local connection management endpoint.

A test never sleeps: it waits for a message with a timeout. To show that someone got nothing, it waits
for a later event that person does get (the outbox's stream is delivered in order, one record at a time,
each fan-out finished before the next), then looks at what came before it."""
from __future__ import annotations

import contextlib
import json
import queue
import threading
import uuid
from typing import Any, Callable

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.test_identity_flow import register
from tests.e2e.test_live_calls import REALTIME_PROVINCE, Network, destination

pytestmark = pytest.mark.e2e
WAIT_SECONDS = 30
CALL_FROM_CA = {"from_number": "+14155552671", "to_number": "+12125552671", "direction": "inbound"}


class Socket:
    """A client connection; what it receives is collected by a thread and waited for."""

    def __init__(self, url: str, token: str):
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(connect(f"{url}?token={token}", open_timeout=WAIT_SECONDS))
        self.messages: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        self.closed = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for text in self.ws:
                self.messages.put(json.loads(text))
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()

    def send(self, message: Any) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def wait(self, event_type: str, match: Callable[[dict], bool] = lambda event: True) -> dict:
        """The first message of that type (and match) received, waiting for it if need be."""
        for message in self.seen:
            if message.get("type") == event_type and match(message):
                return message
        while True:
            message = self.messages.get(timeout=WAIT_SECONDS)
            self.seen.append(message)
            if message.get("type") == event_type and match(message):
                return message

    def of_type(self, event_type: str) -> list[dict]:
        return [m for m in self.seen if m.get("type") == event_type]

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="module")
def ws_url(product) -> str:
    return product.runtime.printed("websocket")


@pytest.fixture(scope="module")
def admin(product) -> str:
    return product.login(ADMIN_EMAIL, ADMIN_PASSWORD)["tokens"]["access_token"]


@pytest.fixture
def sockets():
    opened: list[Socket] = []
    yield opened
    for socket in opened:
        socket.close()


def open_socket(ws_url: str, sockets: list, user: dict) -> Socket:
    socket = Socket(ws_url, user["tokens"]["access_token"])
    sockets.append(socket)
    return socket


def fund(product, admin: str, user: dict, amount: str) -> None:
    response = product.call("POST", f"/admin/users/{user['user']['id']}/credits", token=admin,
                            json={"amount": amount, "reason": "e2e funds"}, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.text


def seller(product, admin: str, states: list[str], bid: str = "2.00") -> dict:
    user = register(product, "seller")
    fund(product, admin, user, "50.00")
    created = product.call("POST", "/bid-profiles", token=user["tokens"]["access_token"], json={
        "criteria": {"geography": {"countries": ["US"], "states": states}}, "bid_amount": bid,
        "destination_number": "+13125552671"})
    assert created.status_code == 201, created.text
    return user


def open_auction(product, buyer: dict, from_number: str = CALL_FROM_CA["from_number"]) -> str:
    token = buyer["tokens"]["access_token"]
    call = product.call("POST", "/calls", token=token, json={**CALL_FROM_CA, "from_number": from_number})
    assert call.status_code == 201, call.text
    auction = product.call("POST", "/auctions", token=token, json={
        "call_id": call.json()["data"]["id"], "reserve_price": "1.00", "duration": 300})
    assert auction.status_code == 201, auction.text
    return auction.json()["data"]["id"]


def test_a_seller_gets_auction_started_for_a_matching_auction_and_nothing_for_another(product, admin, ws_url,
                                                                                         sockets):
    buyer = register(product, "buyer")
    fund(product, admin, buyer, "10.00")
    texan = seller(product, admin, ["TX"])
    socket = open_socket(ws_url, sockets, texan)
    socket.send({"action": "ping"})
    socket.wait("pong")  # connected and answering

    california = open_auction(product, buyer)  # +1 415: California, which the Texan does not target
    texas = open_auction(product, buyer, from_number="+12145552671")  # +1 214: Dallas
    started = socket.wait("auction.started", lambda e: e["data"]["auction"]["id"] == texas)
    assert (started["data"]["country"], started["data"]["state"]) == ("US", "TX")
    assert set(started) == {"type", "event_id", "seq", "occurred_at", "data"} and "+1214" not in json.dumps(started)
    # The Californian auction's event was fanned out before the Texan one: it did not come.
    assert [e["data"]["auction"]["id"] for e in socket.of_type("auction.started")] == [texas]
    assert california != texas


def test_bids_are_placed_and_outbid_and_the_close_tells_who_won_and_who_lost(product, admin, ws_url, sockets):
    buyer = register(product, "buyer")
    fund(product, admin, buyer, "10.00")
    first, second = seller(product, admin, ["CA"]), seller(product, admin, ["CA"])
    buyer_socket = open_socket(ws_url, sockets, buyer)
    first_socket, second_socket = open_socket(ws_url, sockets, first), open_socket(ws_url, sockets, second)
    auction_id = open_auction(product, buyer)
    second_socket.send({"action": "subscribe", "auction_id": auction_id})
    assert second_socket.wait("subscribed")["auction_id"] == auction_id

    for bidder, amount in ((first, "3.00"), (second, "4.00")):
        placed = product.call("POST", "/bids", token=bidder["tokens"]["access_token"],
                              json={"auction_id": auction_id, "amount": amount})
        assert placed.status_code == 201, placed.text
    for socket in (buyer_socket, second_socket):  # the buyer, and a subscriber
        last = socket.wait("bid.placed", lambda e: e["data"]["amount"] == "4.00")
        assert last["data"]["auction_id"] == auction_id
        assert first["user"]["id"] not in json.dumps(last) and second["user"]["id"] not in json.dumps(last)
    outbid = first_socket.wait("bid.outbid")
    assert (outbid["data"]["auction_id"], outbid["data"]["amount"]) == (auction_id, "4.00")

    closed = product.call("POST", f"/auctions/{auction_id}/complete", token=buyer["tokens"]["access_token"])
    assert closed.status_code == 200, closed.text
    assert second_socket.wait("auction.won")["data"]["auction_id"] == auction_id
    assert first_socket.wait("auction.lost")["data"]["auction_id"] == auction_id
    assert first_socket.of_type("auction.won") == [] and first_socket.of_type("bid.placed") == []
    assert second_socket.of_type("bid.outbid") == []


def test_a_live_call_tells_its_buyer_and_seller_each_status_and_its_completion(product, ws_url, sockets):
    network = Network(product, REALTIME_PROVINCE)  # a province only this test's calls and profiles have
    buyer, number = network.buyer_with_number()
    taker = network.seller("5.00", destination())
    buyer_socket, seller_socket = open_socket(ws_url, sockets, buyer), open_socket(ws_url, sockets, taker)
    for socket in (buyer_socket, seller_socket):
        socket.send({"action": "ping"})
        socket.wait("pong")
    result = network.call(number, talk_seconds=65)
    assert result["status"] == "completed"
    for socket in (buyer_socket, seller_socket):
        completed = socket.wait("call.completed")
        assert (completed["data"]["status"], completed["data"]["duration"], completed["data"]["source"]) == (
            "completed", 65, "twilio")
        moves = [e["data"]["status"] for e in socket.of_type("call.status_changed")]
        assert moves == ["queued", "ringing", "in_progress"], moves
    # The call's charge (its funding's event may come first, if it was published once the socket was open).
    charged = seller_socket.wait("balance.changed", lambda e: e["data"]["changes"].get("balance") == "-5.00")
    assert charged["data"]["balance"] == "95.00"  # 100.00 less its 5.00


def refused(url: str) -> int:
    """The status of a refused opening handshake."""
    with pytest.raises(InvalidStatus) as refusal:
        with connect(url, open_timeout=WAIT_SECONDS):
            pass
    return refusal.value.response.status_code


def test_a_bad_token_is_refused_at_connect(product, ws_url):
    for token in ("", "not-a-token", str(uuid.uuid4())):
        assert refused(f"{ws_url}?token={token}") == 401
    assert refused(ws_url) == 401


def test_suspension_closes_the_users_socket(product, admin, ws_url, sockets):
    user = register(product, "seller")
    socket = open_socket(ws_url, sockets, user)
    socket.send({"action": "ping"})
    socket.wait("pong")
    suspended = product.call("PUT", f"/admin/users/{user['user']['id']}/suspend", token=admin,
                             json={"reason": "e2e", "duration": 1})
    assert suspended.status_code == 200, suspended.text
    assert socket.closed.wait(WAIT_SECONDS)
    assert socket.ws.close_code == 1000
    assert refused(f"{ws_url}?token={user['tokens']['access_token']}") == 401  # and it cannot come back


def test_a_message_that_is_not_json_gets_an_error_event(product, ws_url, sockets):
    socket = open_socket(ws_url, sockets, register(product, "buyer"))
    socket.send("<b>hello</b>")
    error = socket.wait("error")
    assert error == {"type": "error", "code": "INVALID_JSON", "message": "Messages must be JSON"}
    socket.send({"action": "dance"})
    assert socket.wait("error", lambda e: e["code"] == "UNKNOWN_ACTION")["message"].startswith("The action")


def test_a_client_that_reconnects_resumes_with_what_it_missed_then_gets_new_events(product, admin, ws_url, sockets):
    user = register(product, "buyer")
    token = user["tokens"]["access_token"]
    witness = open_socket(ws_url, sockets, user)  # stays connected: shows when each event has been published
    away = open_socket(ws_url, sockets, user)
    fund(product, admin, user, "1.00")
    first = away.wait("balance.changed")
    assert first["seq"] == 1
    away.close()
    for amount in ("2.00", "3.00"):  # while the client is away
        fund(product, admin, user, amount)
    witness.wait("balance.changed", lambda e: e["data"]["changes"]["balance"] == "3.00")  # both are in the feed

    listed = product.call("GET", f"/events?after={first['event_id']}", token=token)
    assert listed.status_code == 200, listed.text
    missed = listed.json()["data"]
    assert [(e["seq"], e["data"]["changes"]["balance"]) for e in missed] == [(2, "2.00"), (3, "3.00")]

    back = open_socket(ws_url, sockets, user)
    back.send({"action": "resume", "after": first["event_id"]})
    resumed = back.wait("resumed")
    assert (resumed["count"], resumed["last_seq"], resumed["more"]) == (2, 3, False)
    # What was missed came before the answer, oldest first, as GET /events lists it.
    assert [(e["event_id"], e["seq"]) for e in back.of_type("balance.changed")] == [
        (e["event_id"], e["seq"]) for e in missed]
    fund(product, admin, user, "4.00")
    assert back.wait("balance.changed", lambda e: e["seq"] == 4)["data"]["changes"]["balance"] == "4.00"


def test_logging_out_closes_the_sockets_of_that_session(product, ws_url, sockets):
    user = register(product, "seller")
    socket = open_socket(ws_url, sockets, user)
    socket.send({"action": "ping"})
    socket.wait("pong")
    logout = product.call("POST", "/auth/logout", token=user["tokens"]["access_token"], json={})
    assert logout.status_code in (200, 204), logout.text
    assert socket.closed.wait(WAIT_SECONDS)
    assert socket.ws.close_code == 1000

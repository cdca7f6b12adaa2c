"""Live calls over HTTP against the running product: a caller dials an exchange number on the Twilio
emulator's phone network (POST {emulator}/simulator/calls), which requests the product's signed
webhooks as Twilio does and follows its TwiML. Money is checked to the cent in every story.

The runtime is shared, and other end-to-end tests leave active bid profiles behind. So each test here has a
Canadian province of its own (`Network`): its calls come from a number there, and its sellers' profiles
target that province alone. The other tests' profiles target the US, and this module's other tests other
provinces, so none of them matches these calls: the tests hold in any order, at ordinary prices. (A profile
that targets no geography would match every call: no test of the shared runtime may leave one behind.)"""
import io
import uuid
import wave
from urllib.parse import urlencode

import pytest
import requests
from twilio.request_validator import RequestValidator

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, TWILIO_AUTH_TOKEN
from tests.e2e.test_identity_flow import register, wait_for

pytestmark = pytest.mark.e2e
# A caller in each province; each test of the shared runtime that routes live calls takes its own.
CALLERS = {"BC": "+16045552671", "AB": "+14035552671", "MB": "+12045552671", "ON": "+14165552671",
           "QC": "+15145552671", "SK": "+13065552671", "NB": "+15065552671", "NL": "+17095552671",
           "PR": "+17875552671"}
REALTIME_PROVINCE = "NL"  # test_realtime.py's
# Puerto Rico, a country of its own (as phonenumbers and profiles' geography have it): the recorded call's, as
# Canada has no province left.
RECORDED_REGION = "PR"
_provinces = iter(p for p in CALLERS if p not in (REALTIME_PROVINCE, RECORDED_REGION))  # one for each test here


class Network:
    """The phone network of the running product's Twilio emulator, and Twilio's signed requests. Its calls
    come from `province` (of Canada, or of `country`), and its sellers' profiles target that province only."""

    def __init__(self, product, province: str, country: str = "CA"):
        self.product = product
        self.caller = CALLERS[province]
        self.geography = {"countries": [country], "states": [province]}
        self.emulator = product.runtime.printed("Twilio emulator")
        self.admin = product.login(ADMIN_EMAIL, ADMIN_PASSWORD)["tokens"]["access_token"]

    def call(self, to: str, talk_seconds: int = 95, outcomes: dict | None = None) -> dict:
        response = requests.post(f"{self.emulator}/simulator/calls", timeout=60, json={
            "from": self.caller, "to": to, "talk_seconds": talk_seconds, "dial_outcomes": outcomes or {}})
        assert response.status_code == 200, response.text
        return response.json()

    def replay(self, request: dict, signature: str | None = None) -> requests.Response:
        """One of the requests the emulator made, sent again (signed as Twilio signs, unless forged)."""
        params = request["params"]
        signature = signature or RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(request["url"], params)
        return requests.post(request["url"], data=urlencode(params), timeout=30, headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})

    def fund(self, user: dict, amount: str) -> None:
        response = self.product.call("POST", f"/admin/users/{user['user']['id']}/credits", token=self.admin,
                                     json={"amount": amount, "reason": "e2e funds"},
                                     headers={"Idempotency-Key": uuid.uuid4().hex})
        assert response.status_code == 201, response.text

    def buyer_with_number(self) -> tuple[dict, str]:
        """A buyer who bought an exchange-routed number (the order provisioned by the dispatcher)."""
        buyer = register(self.product, "buyer")
        token = buyer["tokens"]["access_token"]
        self.fund(buyer, "2.50")  # exactly the number's setup and first month
        found = self.product.call("GET", "/numbers/search?area_code=628&limit=20", token=token).json()["data"]
        placed = self.product.call("POST", "/numbers/purchase", token=token, json={"numbers": [{
            "phone_number": found[0]["phone_number"], "friendly_name": "Exchange line",
            "configuration": {"routing": "exchange"}}]})
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["data"]["order_id"]
        order = wait_for(lambda: (lambda o: o if o["status"] != "PENDING" else None)(
            self.product.call("GET", f"/orders/{order_id}", token=token).json()["data"]))
        assert order["status"] == "COMPLETED", order
        return buyer, found[0]["phone_number"]

    def seller(self, bid: str, destination: str, funds: str | None = "100.00", record_calls: bool = False,
               **criteria) -> dict:
        seller = register(self.product, "seller")
        if funds:
            self.fund(seller, funds)
        created = self.product.call("POST", "/bid-profiles", token=seller["tokens"]["access_token"], json={
            "criteria": {"geography": self.geography, **criteria}, "bid_amount": bid,
            "destination_number": destination, "record_calls": record_calls})
        assert created.status_code == 201, created.text
        return seller

    def balance(self, user: dict) -> dict:
        return self.product.call("GET", "/account/balance", token=user["tokens"]["access_token"]).json()["data"]


def destination() -> str:
    return f"+1312555{uuid.uuid4().int % 10_000:04d}"


@pytest.fixture
def network(product):
    """A province no other test of the run has had."""
    province = next(_provinces, None)
    assert province, "more tests here than provinces in CALLERS"
    return Network(product, province)


def call_of(network, buyer: dict) -> dict:
    calls = network.product.call("GET", "/calls?limit=5", token=buyer["tokens"]["access_token"]).json()["data"]
    live = [c for c in calls if c["source"] == "twilio"]
    assert len(live) == 1, calls
    return live[0]


def test_the_best_seller_answers_and_the_call_is_settled_once(network):
    buyer, number = network.buyer_with_number()
    best, second = network.seller("5.00", destination()), network.seller("4.00", destination())
    result = network.call(number, talk_seconds=95)
    assert result["status"] == "completed"
    assert [(d["outcome"], d["duration"]) for d in result["dialed"]] == [("answered", 95)]
    assert all(r["status"] in (200, 204) for r in result["requests"])
    call = call_of(network, buyer)
    assert (call["status"], call["duration"], call["seller_id"]) == ("completed", 95, best["user"]["id"])
    # 5.00 paid by the seller; the buyer earns 80% (4.00) less 2 started minutes at $0.02, taken from it.
    assert network.balance(best)["balance"] == "95.00" and network.balance(best)["held"] == "0.00"
    assert network.balance(second)["balance"] == "100.00"
    buyer_balance = network.balance(buyer)
    assert (buyer_balance["balance"], buyer_balance["earnings"]) == ("0.00", "3.96")


def test_the_first_seller_does_not_answer_and_the_second_does(network):
    buyer, number = network.buyer_with_number()
    first_number, second_number = destination(), destination()
    first, second = network.seller("5.00", first_number), network.seller("4.00", second_number)
    result = network.call(number, talk_seconds=61, outcomes={first_number: "no-answer"})
    assert [(d["number"], d["outcome"]) for d in result["dialed"]] == [(first_number, "no-answer"),
                                                                       (second_number, "answered")]
    call = call_of(network, buyer)
    assert [(a["seller_id"], a["outcome"]) for a in call["attempts"]] == [
        (first["user"]["id"], "no-answer"), (second["user"]["id"], "answered")]
    assert network.balance(first)["balance"] == "100.00" and network.balance(first)["held"] == "0.00"
    assert network.balance(second)["balance"] == "96.00"  # 4.00 paid; the buyer earns 3.20 less 2 minutes
    buyer_balance = network.balance(buyer)
    assert (buyer_balance["balance"], buyer_balance["earnings"]) == ("0.00", "3.16")


def test_nobody_answers_a_polite_hangup_and_no_money_moves(network):
    buyer, number = network.buyer_with_number()
    numbers = [destination() for _ in range(3)]
    sellers = [network.seller(f"{3 + i}.00", n) for i, n in enumerate(numbers)]
    result = network.call(number, outcomes={numbers[0]: "busy", numbers[1]: "no-answer", numbers[2]: "failed"})
    # Best first (5.00, 4.00, 3.00), each once; then the ring tree's three attempts are spent.
    assert [(d["number"], d["outcome"]) for d in result["dialed"]] == [
        (numbers[2], "failed"), (numbers[1], "no-answer"), (numbers[0], "busy")]
    assert result["said"] and "nobody is available" in result["said"][-1]
    assert call_of(network, buyer)["status"] == "no_answer"
    for seller in sellers:
        assert (network.balance(seller)["balance"], network.balance(seller)["held"]) == ("100.00", "0.00")
    assert (network.balance(buyer)["balance"], network.balance(buyer)["earnings"]) == ("0.00", "0.00")


def test_a_forged_signature_is_403_and_changes_nothing(network):
    buyer, number = network.buyer_with_number()
    network.seller("5.00", destination())
    request = {"url": network.product.url("/webhooks/twilio/voice"),
               "params": {"CallSid": "CA" + uuid.uuid4().hex, "From": network.caller, "To": number}}
    assert network.replay(request, signature="Zm9yZ2VkIGJ5IG5vYm9keQ==").status_code == 403
    calls = network.product.call("GET", "/calls", token=buyer["tokens"]["access_token"]).json()
    assert calls["pagination"]["total"] == 0


def test_every_callback_twice_and_out_of_order_bills_once(network):
    buyer, number = network.buyer_with_number()
    best = network.seller("5.00", destination())
    result = network.call(number, talk_seconds=95)
    callbacks = [r for r in result["requests"] if "/webhooks/twilio/voice" not in r["url"]]
    assert callbacks, result["requests"]
    for request in reversed(callbacks):  # again, last first
        assert network.replay(request).status_code in (200, 204)
    for request in callbacks:
        assert network.replay(request).status_code in (200, 204)
    assert network.replay(result["requests"][0]).status_code == 200  # the voice request again
    call = call_of(network, buyer)
    assert (call["status"], call["duration"]) == ("completed", 95)
    assert network.balance(best)["balance"] == "95.00"
    assert (network.balance(buyer)["balance"], network.balance(buyer)["earnings"]) == ("0.00", "3.96")


def test_suspended_unfunded_and_spent_sellers_are_skipped(network):
    buyer, number = network.buyer_with_number()
    suspended = network.seller("9.00", destination())
    network.product.call("PUT", f"/admin/users/{suspended['user']['id']}/suspend", token=network.admin,
                         json={"reason": "e2e"})
    network.seller("8.00", destination(), funds=None)
    network.seller("7.00", destination(), max_budget="5.00")
    fine_number = destination()
    fine = network.seller("5.00", fine_number)
    result = network.call(number, talk_seconds=30)
    assert [d["number"] for d in result["dialed"]] == [fine_number]
    assert network.balance(fine)["balance"] == "95.00"
    billing = network.product.call("GET", f"/admin/users/{suspended['user']['id']}",  # it may not log in
                                   token=network.admin).json()["data"]["billing"]
    assert (billing["balance"], billing["held"]) == ("100.00", "0.00")


def test_the_buyer_cannot_move_a_call_twilio_carries(network):
    buyer, number = network.buyer_with_number()
    network.seller("5.00", destination())
    result = network.call(number, talk_seconds=40)
    assert result["status"] == "completed", result
    call = call_of(network, buyer)
    token = buyer["tokens"]["access_token"]
    patched = network.product.call("PATCH", f"/calls/{call['id']}/status", token=token, json={"status": "failed"})
    assert patched.status_code == 409 and patched.json()["error"]["code"] == "CALL_DRIVEN_BY_TELEPHONY"
    assert call_of(network, buyer)["status"] == "completed"


def test_a_recorded_call_is_heard_by_its_buyer_and_its_seller_as_a_playable_wav(product):
    network = Network(product, RECORDED_REGION, country="PR")
    buyer, number = network.buyer_with_number()
    recorded = network.seller("5.00", destination(), record_calls=True)
    result = network.call(number, talk_seconds=65)
    assert result["status"] == "completed" and result["said"] == []  # Puerto Rico: one party's consent suffices
    callbacks = [r for r in result["requests"] if r["kind"] == "recording-callback"]
    assert [(r["params"]["RecordingStatus"], r["status"]) for r in callbacks] == [("in-progress", 204),
                                                                                   ("completed", 204)]
    call = call_of(network, buyer)
    assert call["recording"] == {"sid": callbacks[-1]["params"]["RecordingSid"], "status": "completed", "duration": 65}
    assert network.balance(recorded)["balance"] == "95.00"  # recorded or not, billed as any call
    for user in (buyer, recorded):
        response = network.product.call("GET", f"/calls/{call['id']}/recording", token=user["tokens"]["access_token"],
                                        headers={"Accept": "audio/wav"})
        assert response.status_code == 200 and response.headers["Content-Type"] == "audio/wav", response.text
        with wave.open(io.BytesIO(response.content)) as played:
            assert (played.getnchannels(), played.getsampwidth(), played.getframerate()) == (2, 2, 8000)
            assert played.getnframes() == 3 * 8000  # 65 s recorded; the emulator's audio is cut to 3 s
    rival = register(network.product, "seller")["tokens"]["access_token"]
    assert network.product.call("GET", f"/calls/{call['id']}/recording", token=rival).status_code == 404

"""Live calls through Twilio's webhooks (signed, form-encoded, answered with TwiML): the call is created
from the CallSid, rings the best eligible seller, rings the next when nobody answers, and is billed
once on Twilio's talk time, whatever order and however often Twilio's callbacks arrive."""
import os
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from chalicelib.domain import numbers as number_rules
from chalicelib.persistence.tables import AccountModel, CallModel, NumberModel, PhoneClaimModel

BASE = "http://127.0.0.1:8000"  # PUBLIC_BASE_URL's default: what the signatures are computed over
EXCHANGE_NUMBER = "+14155550100"
CALLER = "+14155552671"  # San Francisco, CA


pytestmark = pytest.mark.usefixtures("afternoon_in_new_york")  # 13:00 in New York: calling hours


class Twilio:
    """Posts as Twilio does: form-encoded, signed with the account's auth token over the public URL. Each
    <Dial> it is answered places a new leg (a CallSid of its own), which the Dial's action and the leg's
    status callbacks name, as Twilio's do (or `leg_sid=` names another, e.g. an earlier leg's)."""

    def __init__(self, api):
        self.api, self.validator = api, RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
        self.legs: dict[str, str] = {}  # call sid -> its current leg's sid

    def post(self, path: str, params: dict, signature: str | None = None):
        url = f"{BASE}/api/v1{path}"
        signature = signature if signature is not None else self.validator.compute_signature(url, params)
        response = self.api.client.http.request(
            "POST", f"/api/v1{path}", body=urlencode(params),
            headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
        return response

    def _dialing(self, call_sid: str, response):
        if response.status_code == 200 and b"<Dial" in response.body:
            self.legs[call_sid] = "CA" + uuid.uuid4().hex
        return response

    def voice(self, call_sid: str, from_number: str = CALLER, to: str = EXCHANGE_NUMBER, **kw):
        return self._dialing(call_sid, self.post("/webhooks/twilio/voice", {
            "AccountSid": "AC" + "0" * 32, "CallSid": call_sid, "CallStatus": "ringing", "Direction": "inbound",
            "From": from_number, "To": to}, **kw))

    def dial_action(self, call_sid: str, status: str, duration: int | None = None, leg_sid: str | None = None):
        params = {"CallSid": call_sid, "DialCallSid": leg_sid or self.legs.get(call_sid) or "CA" + uuid.uuid4().hex,
                  "DialCallStatus": status}
        if duration is not None:
            params["DialCallDuration"] = str(duration)
        return self._dialing(call_sid, self.post("/webhooks/twilio/dial", params))

    def leg(self, parent_sid: str, status: str, duration: int | None = None, leg_sid: str | None = None):
        params = {"CallSid": leg_sid or self.legs.get(parent_sid) or "CA" + uuid.uuid4().hex,
                  "ParentCallSid": parent_sid, "CallStatus": status}
        if duration is not None:
            params["CallDuration"] = str(duration)
        return self.post("/webhooks/twilio/status", params)


def twiml(response) -> ET.Element:
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/xml", response.body
    return ET.fromstring(response.body)


def dialed(response) -> tuple[str, dict]:
    root = twiml(response)
    dial = root.find("Dial")
    assert dial is not None, response.body
    return dial.find("Number").text, {**dial.attrib, **{f"number.{k}": v for k, v in dial.find("Number").attrib.items()}}


def said_goodbye(response) -> bool:
    root = twiml(response)
    return root.find("Say") is not None and root.find("Hangup") is not None and root.find("Dial") is None


@pytest.fixture
def twilio(api):
    return Twilio(api)


@pytest.fixture
def buyer(api, clock):
    """A buyer who owns an exchange-routed number (as provisioning stores it), with no prepaid funds."""
    user = api.register("buyer")
    number_id = str(uuid.uuid4())
    owner = user["user"]["id"]
    NumberModel(number_id=number_id, owner_id=owner, order_id=str(uuid.uuid4()), phone_number=EXCHANGE_NUMBER,
                owner_status=f"{owner}#ACTIVE", twilio_sid="PN" + "1" * 32, friendly_name="Sales", number_type="local",
                country_code="US", status=number_rules.ACTIVE, routing=number_rules.EXCHANGE, setup_price=10_000,
                monthly_price=15_000, billed_through="2026-11", created_at=clock(), updated_at=clock()).save()
    PhoneClaimModel(phone_number=EXCHANGE_NUMBER, number_id=number_id, owner_id=owner).save()
    return user


def seller(api, bid: str, destination: str, funds: str = "50.00", **criteria) -> dict:
    user = api.register("seller")
    if funds:
        api.fund(user, funds)
    body = {"criteria": criteria, "bid_amount": bid, "destination_number": destination}
    assert api.post("/bid-profiles", body, token=user["token"]).status == 201
    return user


def balance(api, user) -> dict:
    return api.get("/account/balance", token=user["token"]).data


def the_call(call_sid: str) -> CallModel:
    from chalicelib.services.live_calls import call_id_of

    return CallModel.get(call_id_of(call_sid), consistent_read=True)


def test_twilios_documented_signature_is_accepted_and_a_changed_parameter_refused(monkeypatch):
    from chalicelib.config import reset_settings
    from chalicelib.gateways import twilio_voice

    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "12345")
    reset_settings()
    twilio_voice._validator.cache_clear()
    try:
        url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
                  "From": "+14158675309", "To": "+18005551212"}
        assert twilio_voice.is_twilios(url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        assert not twilio_voice.is_twilios(url, {**params, "Digits": "1235"}, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        assert not twilio_voice.is_twilios(url, params, None)
    finally:
        monkeypatch.undo()
        reset_settings()


def test_the_best_seller_answers_and_95_seconds_are_billed_once(api, twilio, buyer):
    low = seller(api, "3.00", "+13125550001")
    best = seller(api, "5.00", "+13125550002")
    number, dial = dialed(twilio.voice("CA" + "a" * 32))
    assert number == "+13125550002" and dial["callerId"] == CALLER
    assert dial["action"] == f"{BASE}/api/v1/webhooks/twilio/dial" and dial["timeout"] == "20"
    assert dial["number.statusCallback"] == f"{BASE}/api/v1/webhooks/twilio/status"
    assert dial["number.statusCallbackEvent"] == "initiated ringing answered completed"
    # The buyer has no funds: the payout (5.00 - 20% = 4.00) pays for 200 minutes at $0.02.
    assert dial["timeLimit"] == str(200 * 60)
    assert balance(api, best)["held"] == "5.00"

    for status in ("initiated", "ringing", "in-progress"):
        assert twilio.leg("CA" + "a" * 32, status).status_code == 204
    assert the_call("CA" + "a" * 32).status == "in_progress"
    assert twilio.leg("CA" + "a" * 32, "completed", 95).status_code == 204
    assert twiml(twilio.dial_action("CA" + "a" * 32, "completed", 95)).find("Hangup") is not None

    call = the_call("CA" + "a" * 32)
    assert (call.status, call.duration_seconds, call.source, call.seller_id) == ("completed", 95, "twilio",
                                                                                    best["user"]["id"])
    assert balance(api, best)["balance"] == "45.00" and balance(api, best)["held"] == "0.00"
    # 2 minutes ($0.04) out of the $4.00 payout: the buyer's balance pays nothing.
    assert balance(api, buyer)["earnings"] == "3.96" and balance(api, buyer)["balance"] == "0.00"
    assert balance(api, low)["balance"] == "50.00"
    shown = api.get(f"/calls/{call.call_id}", token=buyer["token"]).data
    assert shown["source"] == "twilio" and [a["outcome"] for a in shown["attempts"]] == ["answered"]
    assert shown["call_sid"] == "CA" + "a" * 32  # what Twilio knows it by
    # The status callback's in-progress starts it, its completion ends it.
    assert shown["buyer_id"] == buyer["user"]["id"] and shown["seller_id"] == best["user"]["id"]
    assert shown["cost"] == "0.04" and shown["start_time"] is not None and shown["end_time"] is not None


def test_the_first_seller_does_not_answer_and_the_second_does(api, twilio, buyer):
    first = seller(api, "5.00", "+13125550002")
    second = seller(api, "4.00", "+13125550003")
    sid = "CA" + "b" * 32
    assert dialed(twilio.voice(sid))[0] == "+13125550002"
    assert dialed(twilio.dial_action(sid, "no-answer"))[0] == "+13125550003"
    assert balance(api, first)["held"] == "0.00" and balance(api, second)["held"] == "4.00"
    # The released attempt takes the call out of the first seller's list, and the counter with it.
    assert api.get("/calls", token=first["token"]).body["pagination"]["total"] == 0
    assert api.get("/calls", token=first["token"]).data == []
    routed = api.get("/calls", token=second["token"])
    assert routed.body["pagination"]["total"] == 1 and routed.data[0]["id"] == the_call(sid).call_id
    twilio.leg(sid, "in-progress")
    twilio.dial_action(sid, "completed", 60)
    call = api.get(f"/calls/{the_call(sid).call_id}", token=buyer["token"]).data
    assert [(a["seller_id"], a["outcome"]) for a in call["attempts"]] == [
        (first["user"]["id"], "no-answer"), (second["user"]["id"], "answered")]
    assert balance(api, first)["balance"] == "50.00" and balance(api, second)["balance"] == "46.00"
    assert balance(api, buyer)["earnings"] == "3.18"  # $3.20 payout less one minute ($0.02)


def test_nobody_answers_a_polite_hangup_and_no_money_moves(api, twilio, buyer):
    sellers = [seller(api, f"{5 - i}.00", f"+1312555001{i}") for i in range(4)]
    sid = "CA" + "c" * 32
    dialed(twilio.voice(sid))
    dialed(twilio.dial_action(sid, "busy"))
    dialed(twilio.dial_action(sid, "no-answer"))
    assert said_goodbye(twilio.dial_action(sid, "failed"))  # 3 attempts, the setting's default
    call = the_call(sid)
    assert call.status == "no_answer" and len(call.attempts) == 3
    assert all(balance(api, s) == {**balance(api, s), "balance": "50.00", "held": "0.00"} for s in sellers)
    assert balance(api, buyer)["balance"] == "0.00" and balance(api, buyer)["earnings"] == "0.00"


def test_no_eligible_seller_or_an_unknown_number_says_goodbye(api, twilio, buyer):
    assert said_goodbye(twilio.voice("CA" + "d" * 32))
    assert the_call("CA" + "d" * 32).status == "failed"
    assert said_goodbye(twilio.voice("CA" + "e" * 32, to="+14155550199"))
    assert CallModel.count() == 1


def test_a_forged_or_missing_signature_is_403_and_changes_nothing(api, twilio, buyer):
    seller(api, "5.00", "+13125550002")
    forged = twilio.voice("CA" + "f" * 32, signature="bm90IHR3aWxpbw==")
    missing = twilio.post("/webhooks/twilio/voice", {"CallSid": "CA" + "f" * 32, "From": CALLER,
                                                    "To": EXCHANGE_NUMBER}, signature="")
    assert forged.status_code == 403 and missing.status_code == 403
    assert CallModel.count() == 0


def test_every_callback_twice_and_out_of_order_bills_once(api, twilio, buyer):
    best = seller(api, "5.00", "+13125550002")
    sid = "CA" + "1" * 32
    first, again = twilio.voice(sid), twilio.voice(sid)
    assert first.body == again.body and CallModel.count() == 1
    twilio.leg(sid, "completed", 95)
    twilio.leg(sid, "ringing")  # late: the call has ended
    twilio.dial_action(sid, "completed", 95)
    twilio.leg(sid, "completed", 95)
    twilio.dial_action(sid, "completed", 95)
    call = the_call(sid)
    assert call.status == "completed" and call.duration_seconds == 95
    assert balance(api, best)["balance"] == "45.00" and balance(api, buyer)["earnings"] == "3.96"
    assert twilio.leg("CA" + "9" * 32, "completed", 10).status_code == 204  # unknown: nothing to do


def test_suspended_unfunded_and_spent_sellers_are_skipped(api, twilio, buyer, clock):
    admin = api.admin()
    suspended = seller(api, "9.00", "+13125550009")
    api.put(f"/admin/users/{suspended['user']['id']}/suspend", {"reason": "fraud"}, token=admin["token"])
    seller(api, "8.00", "+13125550008", funds=None)  # cannot pay 8.00
    seller(api, "7.00", "+13125550007", max_budget="5.00")  # its day's budget cannot take 7.00
    fine = seller(api, "2.00", "+13125550002")
    assert dialed(twilio.voice("CA" + "2" * 32))[0] == "+13125550002"
    assert the_call("CA" + "2" * 32).seller_id == fine["user"]["id"]


def test_state_restrictions_apply_to_the_caller(api, twilio, buyer):
    admin = api.admin()
    seller(api, "5.00", "+13125550002")
    api.post("/compliance/geographic/restrictions", {"state": "CA", "reason": "test"}, token=admin["token"])
    assert said_goodbye(twilio.voice("CA" + "3" * 32))
    assert CallModel.count() == 0
    refusals = api.get("/compliance/refusals", token=buyer["token"]).data
    assert [r["code"] for r in refusals] == ["GEO_RESTRICTED"]


def test_a_call_twilio_carries_is_driven_by_twilio_alone(api, twilio, buyer):
    seller(api, "5.00", "+13125550002")
    twilio.voice("CA" + "4" * 32)
    call_id = the_call("CA" + "4" * 32).call_id
    for result in (api.call("PATCH", f"/calls/{call_id}/status", {"status": "ringing"}, token=buyer["token"]),
                   api.post(f"/calls/{call_id}/complete", {"duration": 30}, token=buyer["token"])):
        assert result.status == 409 and result.error["code"] == "CALL_DRIVEN_BY_TELEPHONY"
    api_call = api.post("/calls", {"from_number": CALLER, "to_number": "+12125552671", "direction": "inbound"},
                        token=buyer["token"]).data
    assert api_call["source"] == "api" and api_call["call_sid"] is None
    assert AccountModel.get(buyer["user"]["id"]).held == 0


def test_an_eligible_seller_below_many_ineligible_ones_is_found(api, twilio, buyer):
    """Sellers are read a batch at a time (one TransactGetItems each): the search goes on past a batch."""
    for i in range(14):
        seller(api, f"{20 + i}.00", f"+131255501{i:02d}", funds=None)  # none can pay
    fine = seller(api, "2.00", "+13125550002")
    assert dialed(twilio.voice("CA" + "5" * 32))[0] == "+13125550002"
    assert the_call("CA" + "5" * 32).seller_id == fine["user"]["id"]


def test_a_caller_who_hangs_up_while_it_rings_ends_the_call_and_nobody_pays(api, twilio, buyer):
    ringing = seller(api, "5.00", "+13125550002")
    seller(api, "4.00", "+13125550003")
    sid = "CA" + "6" * 32
    dialed(twilio.voice(sid))
    assert twiml(twilio.dial_action(sid, "canceled")).find("Dial") is None  # nobody else is rung
    call = the_call(sid)
    assert call.status == "canceled" and [a["outcome"] for a in call.attempts] == ["canceled"]
    assert (balance(api, ringing)["balance"], balance(api, ringing)["held"]) == ("50.00", "0.00")

"""Inputs held to their documented forms (issue 19 §8). A phone number is ASCII E.164 wherever it enters (a
body, a path, a query, Twilio's webhook) and is stored and compared in phonenumbers' E.164 spelling, so a DNC
entry, a duplicate window or a claim never meets the same number spelled twice (an adversarial run passed a
DNC entry with "+1٢٠٢٥٥٥٠١٤٣"). Money is a decimal string or a JSON number of ASCII digits, at most 4 places,
no exponent, in every money field. HEAD answers wherever GET does, with GET's status and headers and no
body."""
import json
import uuid
from urllib.parse import quote, urlencode

import pytest

from chalicelib.persistence.tables import BidProfileModel, CallModel, DncEntryModel, OrderModel
from tests.api.test_webhooks import EXCHANGE_NUMBER, said_goodbye, twilio  # noqa: F401 - twilio: a fixture
from tests.api.test_webhooks import buyer as live_buyer  # noqa: F401 - a fixture: the owner of an exchange number

DC = "+12025550143"
CALLEE = "+14155552671"  # San Francisco
# The same number as DC, spelled in ways Python's Decimal, \d, str.isdigit and phonenumbers would all read.
NOT_ASCII_E164 = [
    "+1٢٠٢٥٥٥٠١٤٣",  # Arabic-Indic digits
    "+1۲۰۲۵۵۵۰۱۴۳",  # Extended Arabic-Indic (Persian) digits
    "+１２０２５５５０１４３",  # fullwidth digits
    "+1२०२५५५०१४३",  # Devanagari digits
    "+1202555०१४३",  # mixed scripts
    "＋12025550143",  # fullwidth plus
    "+1 202 555 0143",
    "+1 (202) 555-0143",
    "+1-202-555-0143",
    "(202) 555-0143",  # national format
    "2025550143",
    "12025550143",  # no plus
    " +12025550143",
    "+12025550143 ",
    "+12025550143\n",
    "\u200b+12025550143",  # zero-width space
    "tel:+12025550143",
    12025550143,  # a JSON number
]
# An ASCII E.164 spelling phonenumbers writes otherwise: the UK's national prefix 0 after the country code.
LONDON, LONDON_CANONICAL = "+4402071234567", "+442071234567"


@pytest.fixture(autouse=True)
def afternoon(afternoon_in_new_york):
    """Inside TCPA calling hours in New York, San Francisco and London."""


@pytest.fixture
def admin(api):
    return api.admin()


@pytest.fixture
def buyer(api):
    user = api.register("buyer")
    api.fund(user, "10.00")
    return user


@pytest.fixture
def seller(api):
    user = api.register("seller")
    api.fund(user, "50.00")
    return user


def invalid_phone_number(result, field: str | None = None) -> bool:
    """400 INVALID_PHONE_NUMBER, naming the field."""
    if result.status != 400 or result.error["code"] != "INVALID_PHONE_NUMBER":
        return False
    return any(d["code"] == "INVALID_PHONE_NUMBER" and (field is None or d["field"] == field)
               for d in result.error["details"])


def create_profile(api, seller, **body):
    created = api.post("/bid-profiles", {"criteria": {}, "bid_amount": "5.00", "destination_number": "+13125550002",
                                         **body}, token=seller["token"])
    assert created.status == 201, created.body
    return created.data


# --- phone numbers -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spelled", NOT_ASCII_E164)
def test_a_number_not_in_ascii_e164_is_refused_in_every_body(api, admin, buyer, seller, spelled):
    profile = create_profile(api, seller)
    entries = {
        "from_number": api.post("/calls", {"from_number": spelled, "to_number": CALLEE}, token=buyer["token"]),
        "to_number": api.post("/calls", {"from_number": CALLEE, "to_number": spelled}, token=buyer["token"]),
        "phone_number": api.post("/compliance/dnc", {"phone_number": spelled, "reason": "asked"},
                                 token=admin["token"]),
        "destination_number": api.post("/bid-profiles", {"bid_amount": "5.00", "destination_number": spelled},
                                       token=seller["token"]),
        "numbers.0.phone_number": api.post("/numbers/purchase", {"numbers": [
            {"phone_number": spelled, "friendly_name": "Sales"}]}, token=buyer["token"]),
    }
    updated = api.put(f"/bid-profiles/{profile['id']}", {"destination_number": spelled}, token=seller["token"])
    for field, result in [*entries.items(), ("destination_number", updated)]:
        assert invalid_phone_number(result, field), (field, result.status, result.body)
    assert CallModel.count() == 0 and DncEntryModel.count() == 0 and OrderModel.count() == 0
    assert [p.destination_number for p in BidProfileModel.scan()] == ["+13125550002"]


@pytest.mark.parametrize("spelled", [s for s in NOT_ASCII_E164 if isinstance(s, str)])
def test_a_number_not_in_ascii_e164_is_refused_in_a_path(api, admin, spelled):
    assert api.post("/compliance/dnc", {"phone_number": DC, "reason": "asked"}, token=admin["token"]).status == 201
    path = "/compliance/dnc/" + quote(spelled, safe="")
    for method in ("GET", "DELETE"):
        result = api.call(method, path, token=admin["token"])
        assert result.status == 400 and result.error["code"] == "INVALID_PHONE_NUMBER", (method, result.body)
    assert DncEntryModel.get(DC)  # not taken off by another spelling


@pytest.mark.parametrize("path, query", [
    ("/numbers", {"search": "٢٠٢"}), ("/numbers", {"search": "２０２"}), ("/numbers", {"search": "202 555"}),
    ("/numbers/search", {"area_code": "٢٠٢"}), ("/numbers/search", {"area_code": "２０２"}),
    ("/numbers/search", {"contains": "٥٥٥"}),
])
def test_digits_in_a_query_are_ascii(api, buyer, path, query):
    result = api.get(f"{path}?{urlencode(query)}", token=buyer["token"])
    assert result.status == 400 and result.error["type"] == "VALIDATION_ERROR", result.body


def test_a_dnc_entry_refuses_a_call_to_its_number_and_no_other_spelling_gets_past_it(api, admin, buyer):
    assert api.post("/compliance/dnc", {"phone_number": DC, "reason": "asked"}, token=admin["token"]).status == 201
    blocked = api.post("/calls", {"from_number": CALLEE, "to_number": DC}, token=buyer["token"])
    assert blocked.status == 403 and blocked.error["code"] == "DNC_BLOCKED"
    for spelled in NOT_ASCII_E164:
        result = api.post("/calls", {"from_number": CALLEE, "to_number": spelled}, token=buyer["token"])
        assert invalid_phone_number(result, "to_number"), (spelled, result.status)
    assert CallModel.count() == 0


def test_numbers_are_stored_and_compared_as_phonenumbers_spells_them(api, admin, buyer):
    added = api.post("/compliance/dnc", {"phone_number": LONDON, "reason": "asked"}, token=admin["token"])
    assert added.status == 201 and added.data["phone_number"] == LONDON_CANONICAL
    assert [e.phone_number for e in DncEntryModel.scan()] == [LONDON_CANONICAL]
    for spelled in (LONDON, LONDON_CANONICAL):  # a path is read in the stored spelling too
        shown = api.get(f"/compliance/dnc/%2B{spelled[1:]}", token=buyer["token"])
        assert shown.data == {"phone_number": LONDON_CANONICAL, "is_dnc": True, "reason": "asked",
                              "list_type": "internal"}
        blocked = api.post("/calls", {"from_number": CALLEE, "to_number": spelled}, token=buyer["token"])
        assert blocked.status == 403 and blocked.error["code"] == "DNC_BLOCKED"

    created = api.post("/calls", {"from_number": LONDON, "to_number": CALLEE, "direction": "inbound"},
                       token=buyer["token"])
    assert created.status == 201 and created.data["from_number"] == LONDON_CANONICAL
    assert CallModel.get(created.data["id"]).from_number == LONDON_CANONICAL
    assert api.call("DELETE", f"/compliance/dnc/%2B{LONDON[1:]}", token=admin["token"]).status == 204
    assert DncEntryModel.count() == 0


def test_a_duplicate_window_sees_one_caller_however_its_number_is_spelled(api, buyer, seller):
    create_profile(api, seller, criteria={"duplicate_window_hours": 24})
    routed = []
    for caller in (LONDON, LONDON_CANONICAL):
        call = api.post("/calls", {"from_number": caller, "to_number": CALLEE, "direction": "inbound"},
                        token=buyer["token"]).data
        result = api.post(f"/calls/{call['id']}/route", token=buyer["token"])
        assert result.status == 200, result.body
        for status in ("ringing", "in_progress"):
            assert api.call("PATCH", f"/calls/{call['id']}/status", {"status": status}, token=buyer["token"]).status == 200
        routed.append(api.post(f"/calls/{call['id']}/complete", {"duration": 60}, token=buyer["token"]).data)
    assert [(c["billable"], c["duplicate_caller"]) for c in routed] == [(True, False), (False, True)]
    assert api.get("/account/balance", token=seller["token"]).data["balance"] == "45.00"  # billed once


@pytest.mark.parametrize("caller", ["+1٤١٥٥٥٥٢٦٧١", "+１４１５５５５２６７１", "+1 415 555 2671", "4155552671", "anonymous"])
def test_a_live_caller_not_in_ascii_e164_is_an_unknown_caller(api, twilio, live_buyer, seller, caller):
    create_profile(api, seller)
    assert said_goodbye(twilio.voice("CA" + uuid.uuid4().hex, from_number=caller))
    assert CallModel.count() == 0


def test_a_live_call_to_our_number_spelled_otherwise_is_not_ours(api, twilio, live_buyer, seller):
    create_profile(api, seller)
    for to in ("+1٤١٥٥٥٥٠١٠٠", "+1 415 555 0100", "+１４１５５５５０１００"):
        assert said_goodbye(twilio.voice("CA" + uuid.uuid4().hex, to=to))
    assert CallModel.count() == 0
    answered = twilio.voice("CA" + uuid.uuid4().hex, to=EXCHANGE_NUMBER)
    assert b"<Dial" in answered.body  # the control: the number itself is ours


# --- money -------------------------------------------------------------------------------------------------

# JSON text of each form: strings, and numbers written with an exponent. Every one is 400 in every money field.
BAD_AMOUNTS = ['"1_000"', '"١٢"', '"５"', '"1e2"', '"1E2"', '" 5 "', '"5 "', '"+3"', '".5"', '"5."', '"1,000"',
               '"0x10"', '"NaN"', '"Infinity"', '"٥.٠٠"', '"5.00000"', '1e2', '1E2', '1.5e1', '5e0', '1e-2',
               '-1e2', '"$5"', '"5 USD"', '""']
MONEY_FIELDS = ["credits.amount", "user.credit_limit", "profile.bid_amount", "profile.criteria.max_budget",
                "profile_update.bid_amount", "profile_update.criteria.max_budget", "auction.reserve_price",
                "bid.amount"]


def with_amount(body: dict, path: str, literal: str) -> str:
    """`body` as JSON with `literal` (JSON text) at the dotted `path`."""
    target = body
    *parents, name = path.split(".")
    for parent in parents:
        target = target.setdefault(parent, {})
    target[name] = "__AMOUNT__"
    return json.dumps(body).replace('"__AMOUNT__"', literal)


@pytest.fixture
def market(api, admin, buyer, seller):
    profile = create_profile(api, seller)
    call = api.post("/calls", {"from_number": CALLEE, "to_number": "+12125552671", "direction": "inbound"},
                    token=buyer["token"]).data
    return {"admin": admin, "buyer": buyer, "seller": seller, "profile": profile, "call": call}


def money_request(api, market, field: str, literal: str):
    """The request that carries `field`, with the amount written as `literal`: (result, field as reported)."""
    kind, _, path = field.partition(".")
    admin, buyer, seller = market["admin"]["token"], market["buyer"]["token"], market["seller"]["token"]
    seller_id = market["seller"]["user"]["id"]
    if kind == "credits":
        return api.call("POST", f"/admin/users/{seller_id}/credits", token=admin, headers={
            "Idempotency-Key": str(uuid.uuid4())}, raw=with_amount({"reason": "top up"}, path, literal))
    if kind == "user":
        return api.call("PUT", f"/admin/users/{seller_id}", token=admin, raw=with_amount({}, path, literal))
    if kind == "profile":
        body = {"bid_amount": "5.00", "destination_number": "+13125550003", "criteria": {}}
        return api.call("POST", "/bid-profiles", token=seller, raw=with_amount(body, path, literal))
    if kind == "profile_update":
        return api.call("PUT", f"/bid-profiles/{market['profile']['id']}", token=seller,
                        raw=with_amount({}, path, literal))
    if kind == "auction":
        return api.call("POST", "/auctions", token=buyer,
                        raw=with_amount({"call_id": market["call"]["id"], "duration": 30}, path, literal))
    auction = market.get("auction")
    if auction is None:
        opened = api.post("/auctions", {"call_id": market["call"]["id"], "duration": 30}, token=buyer)
        assert opened.status == 201, opened.body
        auction = market["auction"] = opened.data
    return api.call("POST", "/bids", token=seller, raw=with_amount({"auction_id": auction["id"]}, path, literal))


@pytest.mark.parametrize("field", MONEY_FIELDS)
def test_money_only_in_its_documented_forms(api, market, field):
    path = field.partition(".")[2]
    for literal in BAD_AMOUNTS:
        result = money_request(api, market, field, literal)
        assert result.status == 400, (literal, result.status, result.body)
        assert path in {d["field"] for d in result.error["details"]}, (literal, result.body)
    assert api.get("/account/balance", token=market["seller"]["token"]).data["balance"] == "50.00"  # no credit
    for literal in ('"5.00"', "6", "7.5", '"8"'):  # the control: the documented forms are taken (bids rising)
        result = money_request(api, market, field, literal)
        assert result.status in (200, 201), (literal, result.body)
        if field.startswith("auction"):
            break  # one auction per call


@pytest.mark.parametrize("literal", ['"1_000"', '"١٢"', '"５"', '"1e2"', '" 5 "', '"+3"', '".5"', '"5."', "1e2"])
def test_each_refused_amount_is_invalid_amount(api, market, literal):
    result = money_request(api, market, "profile.bid_amount", literal)
    assert result.status == 400 and result.error["code"] == "INVALID_AMOUNT"
    assert [(d["field"], d["code"]) for d in result.error["details"]] == [
        ("bid_amount", "INVALID_AMOUNT")]


# --- HEAD --------------------------------------------------------------------------------------------------

def head_and_get(api, path: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    head = api.client.http.request("HEAD", f"/api/v1{path}", headers=headers)
    get = api.client.http.request("GET", f"/api/v1{path}", headers=headers)
    return head, get


VARYING = {"x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset", "content-length"}


def same_but_the_body(head, get) -> None:
    assert head.status_code == get.status_code
    assert head.body == b""
    shown = {k.lower(): v for k, v in head.headers.items()}
    got = {k.lower(): v for k, v in get.headers.items()}
    assert {k: v for k, v in shown.items() if k not in VARYING} == {k: v for k, v in got.items() if k not in VARYING}
    assert shown["x-request-id"] and shown["content-length"] == str(len(get.body))


def test_head_answers_public_routes_as_get_without_a_body(api):
    for path in ("/health", "/openapi.json"):
        head, get = head_and_get(api, path)
        assert head.status_code == 200, path
        same_but_the_body(head, get)


def test_head_on_an_authenticated_route_is_authenticated_as_get(api, buyer):
    head, get = head_and_get(api, "/profile", buyer["token"])
    assert head.status_code == 200
    same_but_the_body(head, get)
    head, get = head_and_get(api, "/profile")
    assert head.status_code == 401 and head.headers["WWW-Authenticate"] == "Bearer"
    same_but_the_body(head, get)
    seller = api.register("seller")
    head, get = head_and_get(api, "/numbers", seller["token"])  # buyers' route: a seller is refused either way
    assert head.status_code == 403
    same_but_the_body(head, get)


def test_head_of_something_missing_is_its_404(api, buyer):
    head, get = head_and_get(api, f"/calls/{uuid.uuid4()}", buyer["token"])
    assert head.status_code == 404
    same_but_the_body(head, get)
    head, get = head_and_get(api, "/calls/not-a-uuid", buyer["token"])
    assert head.status_code == 400
    same_but_the_body(head, get)


def test_head_only_where_get_is(api, buyer):
    answer = api.client.http.request("HEAD", "/api/v1/auth/login")
    assert answer.status_code == 405 and answer.body == b""

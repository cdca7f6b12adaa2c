"""The Twilio emulator, driven by the real `twilio` SDK through BaseUrlHttpClient, as the product drives it."""
from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
from datetime import datetime

import phonenumbers
import pytest
import requests
from hypothesis import given, settings, strategies as st
from phonenumbers import PhoneNumberType
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from chalicelib.gateways.twilio_http import BaseUrlHttpClient, redirect
from local.twilio_emulator import TwilioEmulator
from local.twilio_emulator.stock import TOLL_FREE_PREFIXES, Block, contains_pattern, nanp_candidates, stock

RFC2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")
LOCAL_TYPES = {PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


@pytest.fixture(scope="module")
def emulator():
    with TwilioEmulator() as running:
        yield running


@pytest.fixture
def twilio(emulator):
    emulator.reset()  # every test starts with a fresh account: nothing bought, nothing counted
    return Client(emulator.account_sid, emulator.auth_token,
                  http_client=BaseUrlHttpClient(emulator.url, timeout=5))


def failure(call) -> tuple[int, int]:
    """(HTTP status, Twilio code) of a failing SDK call.

    The SDK raises TwilioRestException for create/fetch/update/delete, but a bare TwilioException
    carrying the response for list/stream: both are read here.
    """
    with pytest.raises(TwilioException) as raised:
        call()
    error = raised.value
    if isinstance(error, TwilioRestException):
        return error.status, error.code
    response = error.args[1]
    return response.status_code, json.loads(response.text)["code"]


def parsed(phone_number: str) -> phonenumbers.PhoneNumber:
    return phonenumbers.parse(phone_number)


def raw(emulator, method: str, path: str, **kwargs) -> requests.Response:
    """A request below the SDK, with the emulator's credentials unless told otherwise."""
    kwargs.setdefault("auth", (emulator.account_sid, emulator.auth_token))
    url = f"{emulator.url}/2010-04-01/Accounts/{emulator.account_sid}/{path}"
    return requests.request(method, url, **kwargs)


# --- searching ---------------------------------------------------------------------------------

def test_local_search_by_area_code_returns_valid_numbers_of_that_area_code(twilio):
    found = twilio.available_phone_numbers("US").local.list(area_code=415, limit=20)

    assert len(found) == 20
    assert len({n.phone_number for n in found}) == 20
    for number in found:
        assert number.phone_number.startswith("+1415")
        assert phonenumbers.is_valid_number(parsed(number.phone_number))
        assert phonenumbers.region_code_for_number(parsed(number.phone_number)) == "US"
        assert phonenumbers.number_type(parsed(number.phone_number)) in LOCAL_TYPES
        assert number.region == "CA" and number.iso_country == "US" and number.locality
        digits = number.phone_number[2:]
        assert number.friendly_name == f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
        assert number.capabilities == {"voice": True, "SMS": True, "MMS": True, "fax": False}


def test_search_answers_the_same_stock_on_every_run(twilio, emulator):
    first = [n.phone_number for n in twilio.available_phone_numbers("US").local.list(area_code=212)]
    with TwilioEmulator() as other:
        client = Client(other.account_sid, other.auth_token, http_client=BaseUrlHttpClient(other.url))
        second = [n.phone_number for n in client.available_phone_numbers("US").local.list(area_code=212)]

    assert first == second and len(first) >= 24  # a few dozen per area code


def test_search_by_contains_matches_digits_and_anchors(twilio):
    some = twilio.available_phone_numbers("US").local.list(area_code=617, limit=1)[0].phone_number

    ending = twilio.available_phone_numbers("US").local.list(area_code=617, contains=some[-4:] + "$")
    anchored = twilio.available_phone_numbers("US").local.list(contains="+1907", limit=10)

    assert some in [n.phone_number for n in ending]
    assert all(n.phone_number.endswith(some[-4:]) for n in ending)
    assert len(anchored) == 10 and all(n.phone_number.startswith("+1907") for n in anchored)


def test_contains_pattern_follows_twilios_meta_characters():
    assert contains_pattern("+1415%CALL$").search("14155552255")  # letters are keypad digits
    assert contains_pattern("555**").search("14155550123")  # * is one digit
    assert not contains_pattern("+1415").search("12124155555")  # + anchors at the start
    assert not contains_pattern("0123$").search("14150123555")  # $ anchors at the end


def test_toll_free_search_answers_toll_free_numbers(twilio):
    every_prefix = twilio.available_phone_numbers("US").toll_free.list(limit=100)
    only_888 = twilio.available_phone_numbers("US").toll_free.list(area_code=888, limit=10)

    assert len(every_prefix) == 100
    assert {n.phone_number[2:5] for n in every_prefix} == set(TOLL_FREE_PREFIXES)
    for number in every_prefix:
        assert phonenumbers.number_type(parsed(number.phone_number)) == PhoneNumberType.TOLL_FREE
    assert len(only_888) == 10 and all(n.phone_number.startswith("+1888") for n in only_888)


def test_limit_becomes_one_request_of_that_page_size(twilio, emulator):
    found = twilio.available_phone_numbers("US").local.list(area_code=312, limit=3)
    page = raw(emulator, "GET", "AvailablePhoneNumbers/US/Local.json",
               params={"AreaCode": "312", "PageSize": 2}).json()

    assert len(found) == 3
    assert emulator.request_counts[("GET", "available_phone_numbers")] == 2
    assert len(page["available_phone_numbers"]) == 2 and page["page_size"] == 2
    assert page["next_page_uri"] is None and page["uri"].startswith("/2010-04-01/Accounts/")


def test_in_region_keeps_numbers_of_that_state(twilio):
    found = twilio.available_phone_numbers("US").local.list(in_region="CA", limit=15)

    assert len(found) == 15 and {n.region for n in found} == {"CA"}


def test_area_code_without_stock_answers_an_empty_list_not_an_error(twilio):
    assert twilio.available_phone_numbers("US").local.list(area_code=533) == []
    assert twilio.available_phone_numbers("US").local.list(area_code=416) == []  # Toronto is in Canada
    canadian = twilio.available_phone_numbers("CA").local.list(area_code=416, limit=5)
    assert len(canadian) == 5 and {n.region for n in canadian} == {"ON"} and canadian[0].iso_country == "CA"


def test_unknown_country_or_type_is_twilios_404(twilio):
    assert failure(lambda: twilio.available_phone_numbers("XX").local.list()) == (404, 20404)
    assert failure(lambda: twilio.available_phone_numbers("US").mobile.list()) == (404, 20404)


def test_malformed_area_code_is_twilios_invalid_area_code(twilio):
    assert failure(lambda: twilio.available_phone_numbers("US").local.list(area_code=12)) == (400, 21451)


def test_mobile_numbers_outside_north_america(twilio):
    found = twilio.available_phone_numbers("GB").mobile.list(limit=5)

    assert len(found) == 5
    for number in found:
        assert phonenumbers.number_type(parsed(number.phone_number)) == PhoneNumberType.MOBILE
        assert phonenumbers.region_code_for_number(parsed(number.phone_number)) == "GB"
        assert number.iso_country == "GB"


@settings(max_examples=20, deadline=None)
@given(area_code=st.integers(200, 999))
def test_every_stocked_number_is_valid_for_its_area_code(area_code):
    for number in stock(Block("US", "local", str(area_code))):
        assert number.phone_number.startswith(f"+1{area_code}")
        assert phonenumbers.is_valid_number(parsed(number.phone_number))
        assert phonenumbers.region_code_for_number(parsed(number.phone_number)) == "US"


def test_generated_exchanges_skip_service_codes_and_the_fictional_555():
    exchanges = {candidate[5:8] for candidate in nanp_candidates("415", random.Random(0))}

    assert len(exchanges) > 700
    assert "555" not in exchanges and not any(exchange.endswith("11") for exchange in exchanges)


# --- buying ------------------------------------------------------------------------------------

def test_buying_answers_the_incoming_phone_number_and_takes_it_out_of_stock(twilio, emulator):
    wanted = twilio.available_phone_numbers("US").local.list(area_code=415, limit=1)[0].phone_number

    bought = twilio.incoming_phone_numbers.create(
        phone_number=wanted, voice_url="https://exchange.example/voice", friendly_name="Main line")

    assert re.fullmatch(r"PN[0-9a-f]{32}", bought.sid)
    assert bought.account_sid == emulator.account_sid and bought.phone_number == wanted
    assert bought.voice_url == "https://exchange.example/voice" and bought.voice_method == "POST"
    assert bought.friendly_name == "Main line" and bought.status == "in-use" and bought.origin == "twilio"
    assert isinstance(bought.date_created, datetime)
    assert bought.uri == f"/2010-04-01/Accounts/{emulator.account_sid}/IncomingPhoneNumbers/{bought.sid}.json"
    after = twilio.available_phone_numbers("US").local.list(area_code=415)
    assert wanted not in [n.phone_number for n in after]
    assert [n.sid for n in twilio.incoming_phone_numbers.list(phone_number=wanted)] == [bought.sid]


def test_dates_are_rfc_2822_like_twilios(twilio, emulator):
    twilio.incoming_phone_numbers.create(area_code="206")
    resource = raw(emulator, "GET", "IncomingPhoneNumbers.json").json()["incoming_phone_numbers"][0]

    assert RFC2822.match(resource["date_created"]) and RFC2822.match(resource["date_updated"])


def test_buying_a_number_twice_is_not_available(twilio):
    wanted = twilio.available_phone_numbers("US").local.list(area_code=305, limit=1)[0].phone_number
    twilio.incoming_phone_numbers.create(phone_number=wanted)

    assert failure(lambda: twilio.incoming_phone_numbers.create(phone_number=wanted)) == (400, 21422)


def test_a_valid_number_twilio_does_not_stock_is_not_available(twilio):
    assert failure(lambda: twilio.incoming_phone_numbers.create(phone_number="+14155550123")) == (400, 21422)


@pytest.mark.parametrize("phone_number", ["+1415", "+1123456789", "not a number"])
def test_an_invalid_number_is_invalid(twilio, phone_number):
    assert failure(lambda: twilio.incoming_phone_numbers.create(phone_number=phone_number)) == (400, 21421)


@pytest.mark.parametrize("phone_number, code", [("+15005550000", 21422), ("+15005550001", 21421)])
def test_magic_numbers_fail_as_documented(twilio, phone_number, code):
    assert failure(lambda: twilio.incoming_phone_numbers.create(phone_number=phone_number)) == (400, code)


def test_magic_available_number_can_be_bought_again_and_again(twilio):
    first = twilio.incoming_phone_numbers.create(phone_number="+15005550006")
    second = twilio.incoming_phone_numbers.create(phone_number="+15005550006")

    assert first.phone_number == second.phone_number == "+15005550006"
    assert first.sid != second.sid and first.friendly_name == "(500) 555-0006"
    assert len(twilio.incoming_phone_numbers.list(phone_number="+15005550006")) == 2


def test_magic_area_codes(twilio):
    assert failure(lambda: twilio.incoming_phone_numbers.create(area_code="533")) == (400, 21452)
    assert twilio.incoming_phone_numbers.create(area_code="500").phone_number == "+15005550006"


def test_buying_by_area_code_takes_from_stock_until_it_runs_out(twilio):
    stocked = [n.phone_number for n in twilio.available_phone_numbers("US").local.list(area_code=907)]

    bought = [twilio.incoming_phone_numbers.create(area_code="907").phone_number for _ in stocked]

    assert sorted(bought) == sorted(stocked)
    assert twilio.available_phone_numbers("US").local.list(area_code=907) == []
    assert failure(lambda: twilio.incoming_phone_numbers.create(area_code="907")) == (400, 21452)


def test_settings_are_validated_like_twilio(twilio):
    assert failure(lambda: twilio.incoming_phone_numbers.create(
        area_code="512", voice_url="not a url")) == (400, 21402)
    assert failure(lambda: twilio.incoming_phone_numbers.create(
        area_code="512", voice_url="https://x.example/v", voice_method="PUT")) == (400, 21403)
    assert twilio.incoming_phone_numbers.list() == []  # nothing bought by a refused request


def test_typed_subresources_check_the_type(twilio, emulator):
    local = twilio.available_phone_numbers("US").local.list(area_code=702, limit=1)[0].phone_number
    toll_free = twilio.available_phone_numbers("US").toll_free.list(limit=1)[0].phone_number

    assert failure(lambda: twilio.incoming_phone_numbers.toll_free.create(phone_number=local)) == (400, 21458)
    twilio.incoming_phone_numbers.toll_free.create(phone_number=toll_free)
    twilio.incoming_phone_numbers.local.create(phone_number=local)
    by_area_code = raw(emulator, "POST", "IncomingPhoneNumbers/Local.json", data={"AreaCode": "702"})

    assert [n.phone_number for n in twilio.incoming_phone_numbers.toll_free.list()] == [toll_free]
    assert [n.phone_number for n in twilio.incoming_phone_numbers.local.list()] == [local]
    assert (by_area_code.status_code, by_area_code.json()["code"]) == (400, 21457)


# --- managing bought numbers -------------------------------------------------------------------

def test_fetch_update_and_list(twilio):
    bought = twilio.incoming_phone_numbers.create(area_code="404")

    updated = twilio.incoming_phone_numbers(bought.sid).update(
        friendly_name="Sales", voice_url="https://exchange.example/voice/1", voice_method="GET",
        status_callback="https://exchange.example/status")
    fetched = twilio.incoming_phone_numbers(bought.sid).fetch()

    for number in (updated, fetched):
        assert number.friendly_name == "Sales" and number.voice_method == "GET"
        assert number.voice_url == "https://exchange.example/voice/1"
        assert number.status_callback == "https://exchange.example/status"
        assert number.phone_number == bought.phone_number
    assert fetched.date_updated >= fetched.date_created
    assert [n.sid for n in twilio.incoming_phone_numbers.list(friendly_name="Sales")] == [bought.sid]
    assert twilio.incoming_phone_numbers.list(friendly_name="Support") == []


def test_list_pages_like_twilio(twilio, emulator):
    bought = {twilio.incoming_phone_numbers.create(area_code="303").sid for _ in range(5)}
    emulator.reset_counts()

    listed = twilio.incoming_phone_numbers.list(page_size=2)

    assert {n.sid for n in listed} == bought
    assert emulator.request_counts[("GET", "incoming_phone_numbers")] == 3  # pages of 2, 2 and 1
    first = raw(emulator, "GET", "IncomingPhoneNumbers.json", params={"PageSize": 2}).json()
    last = raw(emulator, "GET", "IncomingPhoneNumbers.json", params={"PageSize": 2, "Page": 2}).json()
    assert "Page=1" in first["next_page_uri"] and first["previous_page_uri"] is None
    assert (last["start"], last["end"], last["next_page_uri"]) == (4, 4, None)
    assert "Page=1" in last["previous_page_uri"]


def test_list_filters_by_partial_number(twilio):
    in_615 = twilio.incoming_phone_numbers.create(area_code="615")
    twilio.incoming_phone_numbers.create(area_code="213")

    assert [n.sid for n in twilio.incoming_phone_numbers.list(phone_number="+1615")] == [in_615.sid]
    assert [n.sid for n in twilio.incoming_phone_numbers.list(phone_number="615*******")] == [in_615.sid]


def test_released_number_returns_to_stock_and_its_sid_is_gone(twilio):
    bought = twilio.incoming_phone_numbers.create(area_code="512")

    assert twilio.incoming_phone_numbers(bought.sid).delete() is True

    assert failure(lambda: twilio.incoming_phone_numbers(bought.sid).fetch()) == (404, 20404)
    assert failure(lambda: twilio.incoming_phone_numbers(bought.sid).update(friendly_name="x")) == (404, 20404)
    assert failure(lambda: twilio.incoming_phone_numbers(bought.sid).delete()) == (404, 20404)
    stocked = twilio.available_phone_numbers("US").local.list(area_code=512)
    assert bought.phone_number in [n.phone_number for n in stocked]
    again = twilio.incoming_phone_numbers.create(phone_number=bought.phone_number)
    assert again.sid != bought.sid


# --- authentication, errors, faults and counts -------------------------------------------------

def test_wrong_auth_token_is_twilios_20003(twilio, emulator):
    intruder = Client(emulator.account_sid, "wrong-token", http_client=BaseUrlHttpClient(emulator.url))

    assert failure(lambda: intruder.incoming_phone_numbers.create(area_code="415")) == (401, 20003)
    assert failure(lambda: intruder.available_phone_numbers("US").local.list()) == (401, 20003)
    assert twilio.incoming_phone_numbers.list() == []


def test_another_accounts_url_is_refused(emulator):
    other_account = "AC" + "f" * 32
    response = requests.get(f"{emulator.url}/2010-04-01/Accounts/{other_account}/IncomingPhoneNumbers.json",
                            auth=(emulator.account_sid, emulator.auth_token))

    assert response.status_code == 401 and response.json()["code"] == 20003


def test_errors_have_twilios_body(twilio, emulator):
    response = raw(emulator, "GET", "NoSuchThing.json")

    assert response.status_code == 404
    assert response.json() == {
        "code": 20404,
        "message": f"The requested resource /2010-04-01/Accounts/{emulator.account_sid}/NoSuchThing.json"
                   " was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404,
    }
    assert raw(emulator, "PUT", "IncomingPhoneNumbers.json").json()["code"] == 20004
    assert emulator.request_counts == {("GET", "unknown"): 1, ("PUT", "incoming_phone_numbers"): 1}


def test_injected_faults_fail_matching_requests_then_recover(twilio, emulator):
    emulator.inject_faults(503, 20503, count=2, method="POST", kind="incoming_phone_numbers")

    first = failure(lambda: twilio.incoming_phone_numbers.create(area_code="415"))
    searched = twilio.available_phone_numbers("US").local.list(area_code=415, limit=1)  # not targeted
    second = failure(lambda: twilio.incoming_phone_numbers.create(area_code="415"))
    bought = twilio.incoming_phone_numbers.create(area_code="415")

    assert first == second == (503, 20503)
    assert len(searched) == 1 and bought.phone_number.startswith("+1415")
    assert emulator.request_counts[("POST", "incoming_phone_numbers")] == 3


def test_faults_can_be_injected_over_http_by_another_process(twilio, emulator):
    injected = requests.post(f"{emulator.url}/_emulator/faults",
                             json={"status": 429, "code": 20429, "count": 1})

    assert injected.status_code == 201
    assert failure(lambda: twilio.incoming_phone_numbers.create(area_code="212")) == (429, 20429)
    bought = twilio.incoming_phone_numbers.create(area_code="212")
    state = requests.get(f"{emulator.url}/_emulator/state").json()
    assert state["request_counts"] == {"POST incoming_phone_numbers": 2}
    assert [n["sid"] for n in state["owned_numbers"]] == [bought.sid] and state["faults"] == []


def test_request_counts_tell_how_many_twilio_calls_a_purchase_made(twilio, emulator):
    wanted = twilio.available_phone_numbers("US").local.list(area_code=213, limit=1)[0].phone_number
    bought = twilio.incoming_phone_numbers.create(phone_number=wanted)
    twilio.incoming_phone_numbers(bought.sid).update(voice_url="https://exchange.example/voice")

    assert emulator.request_count == 3
    assert emulator.request_counts == {
        ("GET", "available_phone_numbers"): 1, ("POST", "incoming_phone_numbers"): 1,
        ("POST", "incoming_phone_number"): 1,
    }
    emulator.reset_counts()
    assert emulator.request_count == 0 and twilio.incoming_phone_numbers.list()  # counts only, not numbers


# --- calls -------------------------------------------------------------------------------------

def test_an_outbound_call_needs_a_number_of_the_account(twilio):
    caller = twilio.incoming_phone_numbers.create(area_code="415").phone_number

    call = twilio.calls.create(to="+12125550123", from_=caller, url="https://exchange.example/twiml")

    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid) and call.status == "queued"
    assert twilio.calls(call.sid).fetch().to == "+12125550123"
    assert failure(lambda: twilio.calls.create(
        to="+12125550123", from_="+14155550000", url="https://exchange.example/twiml")) == (400, 21210)
    assert failure(lambda: twilio.calls.create(
        to="+1212", from_=caller, url="https://exchange.example/twiml")) == (400, 21211)


def test_a_call_the_network_was_playing_when_the_account_was_saved_has_ended_when_it_is_restored(emulator, twilio):
    """`make run` killed (or stopped) mid-call: the simulator playing the call stopped with it. Restored under
    way, Twilio would say so for ever, and the product's hold job would hold the seller's price for ever."""
    def resource(sid, direction, status, start_time=None, updated="Sun, 06 Dec 2026 22:31:02 +0000", parent=None):
        return {"sid": sid, "direction": direction, "status": status, "to": "+13125551001", "from": "+15105559876",
                "date_created": "Sun, 06 Dec 2026 22:31:02 +0000", "date_updated": updated, "start_time": start_time,
                "end_time": None, "duration": None, "parent_call_sid": parent}
    calls = [
        resource("CA" + "1" * 32, "inbound", "in-progress", start_time="Sun, 06 Dec 2026 22:31:02 +0000"),
        resource("CA" + "2" * 32, "outbound-dial", "in-progress", start_time="Sun, 06 Dec 2026 22:31:06 +0000",
                 updated="Sun, 06 Dec 2026 22:31:36 +0000", parent="CA" + "1" * 32),  # answered 30 s before
        resource("CA" + "3" * 32, "outbound-dial", "ringing", parent="CA" + "1" * 32),
        resource("CA" + "4" * 32, "inbound", "ringing"),  # its voice URL was being asked
        {**resource("CA" + "5" * 32, "outbound-dial", "completed", start_time="Sun, 06 Dec 2026 22:31:06 +0000"),
         "duration": "95", "end_time": "Sun, 06 Dec 2026 22:32:41 +0000"},
        resource("CA" + "6" * 32, "outbound-api", "queued"),  # created through the API: never played
    ]
    emulator.restore_account({"owned": [], "calls": calls})

    fetched = {sid: twilio.calls(sid).fetch() for sid in (call["sid"] for call in calls)}
    assert [(c.status, c.duration) for c in fetched.values()] == [
        ("completed", "0"), ("completed", "30"), ("canceled", "0"), ("canceled", "0"), ("completed", "95"),
        ("queued", None)]
    assert fetched["CA" + "2" * 32].end_time == datetime(2026, 12, 6, 22, 31, 36, tzinfo=fetched["CA" + "2" * 32]
                                                          .end_time.tzinfo)


def test_recordings_are_kept_with_the_account_and_one_under_way_when_it_was_saved_is_absent(emulator, twilio):
    completed = emulator.add_recording("CA" + "1" * 32, talk_seconds=95)
    saved = emulator.export_account()
    in_progress = {**completed, "sid": "RE" + "2" * 32, "status": "in-progress", "duration": None}
    emulator.restore_account({**saved, "recordings": [*saved["recordings"], in_progress]})

    kept, dropped = twilio.recordings(completed["sid"]).fetch(), twilio.recordings("RE" + "2" * 32).fetch()
    assert (kept.status, kept.duration, kept.call_sid, kept.channels) == ("completed", "95", "CA" + "1" * 32, 2)
    assert (dropped.status, dropped.duration) == ("absent", "0")
    audio = raw(emulator, "GET", f"Recordings/{completed['sid']}.wav")
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF" and audio.content[8:12] == b"WAVE"
    assert raw(emulator, "GET", "Recordings/RE" + "2" * 32 + ".wav").status_code == 404
    assert failure(lambda: twilio.recordings("RE" + "3" * 32).fetch()) == (404, 20404)
    emulator.restore_account({"owned": [], "calls": []})  # a snapshot of before recordings were kept
    assert twilio.recordings.list() == []


# --- the HTTP client and the standalone emulator -----------------------------------------------

@pytest.mark.parametrize("url, expected", [
    ("https://api.twilio.com/2010-04-01/Accounts/AC1.json?PageSize=5",
     "http://127.0.0.1:9/2010-04-01/Accounts/AC1.json?PageSize=5"),
    ("https://api.sydney.au1.twilio.com/2010-04-01/Calls.json", "http://127.0.0.1:9/2010-04-01/Calls.json"),
    ("https://example.com/2010-04-01/x.json", "https://example.com/2010-04-01/x.json"),
    ("https://eviltwilio.com/2010-04-01/x.json", "https://eviltwilio.com/2010-04-01/x.json"),
])
def test_only_twilio_urls_are_redirected(url, expected):
    assert redirect(url, "http://127.0.0.1:9") == expected


def test_the_client_keeps_the_sdks_timeout(emulator):
    client = BaseUrlHttpClient(emulator.url + "/", timeout=5)

    assert client.timeout == 5 and client.base_url == emulator.url


def test_runs_standalone_and_prints_its_url():
    process = subprocess.Popen([sys.executable, "-m", "local.twilio_emulator", "--port", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert requests.get(f"{url}/_emulator/state", timeout=5).json()["request_count"] == 0
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_standalone_takes_port_and_auth_token_from_the_environment():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "TWILIO_EMULATOR_PORT": str(port), "TWILIO_AUTH_TOKEN": "token-of-the-environment"}
    process = subprocess.Popen([sys.executable, "-m", "local.twilio_emulator"], stdout=subprocess.PIPE,
                               text=True, env=env)
    try:
        url = process.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port}"
        account = requests.get(f"{url}/_emulator/state", timeout=5).json()["account_sid"]
        listed = requests.get(f"{url}/2010-04-01/Accounts/{account}/IncomingPhoneNumbers.json",
                              auth=(account, "token-of-the-environment"), timeout=5)
        assert listed.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)

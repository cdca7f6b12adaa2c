"""Compliance over the API: state restrictions and profile states reach numbers the geocoder names by state
alone, an empty calling window is refused, and no compliance error repeats what the request sent."""
from datetime import datetime, timezone

import pytest

from chalicelib.persistence.tables import ComplianceRefusalModel
from tests.helpers import error_fields

LOS_ANGELES = "+13105550000"  # the geocoder says "California", not "City, CA"
SACRAMENTO = "+19165550123"  # "California"
NEW_YORK = "+12125552671"  # "New York, NY"
NEWARK = "+12015550123"  # "New Jersey"
TORONTO = "+14165551234"  # "Ontario"
MARKUP = ["%3CSCRIPT%3Ealert(1)%3C%2FSCRIPT%3E", "<script>alert(1)", "javascript:alert(1)"]


@pytest.fixture(autouse=True)
def afternoon_in_the_us(clock):
    clock.current = datetime(2026, 11, 2, 19, 0, tzinfo=timezone.utc)  # 14:00 in New York, 11:00 in LA


@pytest.fixture
def admin(api):
    return api.admin()


@pytest.fixture
def buyer(api):
    user = api.register("buyer")
    api.fund(user, "10.00")
    return user


def call(api, buyer, from_number, to_number):
    return api.post("/calls", {"from_number": from_number, "to_number": to_number}, token=buyer["token"])


def restrict(api, admin, state):
    result = api.post("/compliance/geographic/restrictions", {"state": state}, token=admin["token"])
    assert result.status == 201, result.body


def echoes(result, *sent) -> bool:
    text = str(result.body).lower()
    return any(s.lower() in text for s in sent)


# --- state of a number ---------------------------------------------------------------------------

@pytest.mark.parametrize("from_number, to_number", [(LOS_ANGELES, NEW_YORK), (NEW_YORK, SACRAMENTO)])
def test_a_restricted_state_blocks_numbers_the_geocoder_names_by_state_only(api, admin, buyer, from_number,
                                                                            to_number):
    assert call(api, buyer, from_number, to_number).status == 201
    restrict(api, admin, "CA")
    blocked = call(api, buyer, from_number, to_number)
    assert blocked.status == 403 and blocked.error["code"] == "GEO_RESTRICTED"
    assert blocked.error["message"] == "Call blocked by geographic restriction"
    [refusal] = ComplianceRefusalModel.query(buyer["user"]["id"])
    assert refusal.code == "GEO_RESTRICTED" and refusal.reason.endswith("restricted state CA")


def test_restrictions_reach_new_jersey_and_canadian_provinces(api, admin, buyer):
    restrict(api, admin, "NJ")
    restrict(api, admin, "ON")
    assert call(api, buyer, NEWARK, NEW_YORK).error["code"] == "GEO_RESTRICTED"
    assert call(api, buyer, NEW_YORK, TORONTO).error["code"] == "GEO_RESTRICTED"
    assert call(api, buyer, NEW_YORK, LOS_ANGELES).status == 201


def test_a_profile_for_a_state_gets_calls_from_numbers_named_by_state_only(api, buyer):
    seller = api.register("seller")
    api.fund(seller)
    body = {"criteria": {"geography": {"countries": ["US"], "states": ["CA"]}}, "bid_amount": "5.00",
            "destination_number": "+13125552671"}
    wanted = api.post("/bid-profiles", body, token=seller["token"])
    assert wanted.status == 201, wanted.body
    created = call(api, buyer, LOS_ANGELES, NEW_YORK)
    assert created.status == 201, created.body
    routed = api.post(f"/calls/{created.data['id']}/route", token=buyer["token"])
    assert routed.status == 200 and routed.data["profile_id"] == wanted.data["id"]


# --- TCPA window -----------------------------------------------------------------------------------

@pytest.mark.parametrize("moment", ["00:00", "09:00", "21:00"])
def test_an_empty_calling_window_is_refused_and_the_window_kept(api, admin, buyer, moment):
    window = {"start_time": "08:00", "end_time": "21:00", "timezone": "America/New_York"}
    assert api.put("/compliance/tcpa/hours", window, token=admin["token"]).status == 200
    empty = api.put("/compliance/tcpa/hours", {**window, "start_time": moment, "end_time": moment},
                    token=admin["token"])
    assert empty.status == 400 and error_fields(empty) == {"end_time"}
    assert empty.error["details"][0]["code"] == "EMPTY_CALLING_WINDOW"
    assert not echoes(empty, moment)
    assert api.get("/compliance/tcpa/hours", token=buyer["token"]).data == window
    assert call(api, buyer, LOS_ANGELES, NEW_YORK).status == 201  # calls still go out


def test_a_window_over_midnight_is_not_empty(api, admin, buyer, clock):
    night = {"start_time": "14:05", "end_time": "02:00", "timezone": "America/New_York"}
    assert api.put("/compliance/tcpa/hours", night, token=admin["token"]).status == 200
    assert call(api, buyer, LOS_ANGELES, NEW_YORK).error["code"] == "TCPA_VIOLATION"  # 14:00 in New York
    clock.advance(minutes=10)  # 14:10 in New York
    assert call(api, buyer, LOS_ANGELES, NEW_YORK).status == 201


# --- path segments -----------------------------------------------------------------------------

@pytest.mark.parametrize("segment", MARKUP + ["C1", "CAL", "C", "%C3%84%C3%96", "CA%0A", "CA%00", "%2A%2A"])
def test_a_malformed_state_in_the_path_is_a_400_that_does_not_echo_it(api, admin, segment):
    restrict(api, admin, "CA")
    result = api.call("DELETE", f"/compliance/geographic/restrictions/{segment}", token=admin["token"])
    assert result.status == 400, result.body
    assert error_fields(result) == {"state"} and result.error["details"][0]["code"] == "INVALID_STATE_CODE"
    assert not echoes(result, *[s for s in (segment, "script", "alert", "CAL") if len(s) > 2])  # "C" is in "CODE"
    assert [r["state"] for r in api.get("/compliance/geographic/restrictions", token=admin["token"]).data] == ["CA"]


def test_lifting_a_restriction_takes_the_code_in_any_case(api, admin):
    restrict(api, admin, "CA")
    assert api.call("DELETE", "/compliance/geographic/restrictions/ca", token=admin["token"]).status == 204
    assert api.get("/compliance/geographic/restrictions", token=admin["token"]).data == []


def test_lifting_what_is_not_restricted_is_a_404_that_does_not_echo_it(api, admin):
    result = api.call("DELETE", "/compliance/geographic/restrictions/ZQ", token=admin["token"])
    assert result.status == 404 and result.error["code"] == "RESTRICTION_NOT_FOUND"
    assert result.error["message"] == "State is not restricted" and not echoes(result, "ZQ")


def test_restricting_twice_is_a_409_that_does_not_echo_it(api, admin):
    restrict(api, admin, "TX")
    again = api.post("/compliance/geographic/restrictions", {"state": "TX"}, token=admin["token"])
    assert again.status == 409 and again.error["code"] == "ALREADY_RESTRICTED"
    assert again.error["message"] == "State is already restricted"


@pytest.mark.parametrize("segment", MARKUP + ["not-a-number", "14155552671", "%2B1415", "%2B19999999999",
                                               "'%3B%20DROP%20TABLE%20dnc%3B--", "%2B14155552671%0A"])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_a_malformed_number_in_the_dnc_path_is_a_400_that_does_not_echo_it(api, admin, segment, method):
    result = api.call(method, f"/compliance/dnc/{segment}", token=admin["token"])
    assert result.status == 400, result.body
    assert error_fields(result) == {"phone_number"}
    assert result.error["message"] == "Invalid phone number"
    assert not echoes(result, segment, "script", "alert", "drop table", "not-a-number", "1415")


def test_the_dnc_path_takes_the_number_with_plus_or_2b(api, admin):
    listed = api.post("/compliance/dnc", {"phone_number": NEW_YORK, "reason": "Consumer request"},
                      token=admin["token"])
    assert listed.status == 201
    assert api.get("/compliance/dnc/%2B12125552671", token=admin["token"]).data["is_dnc"] is True
    assert api.call("DELETE", f"/compliance/dnc/{NEW_YORK}", token=admin["token"]).status == 204
    gone = api.call("DELETE", "/compliance/dnc/%2B12125552671", token=admin["token"])
    assert gone.status == 404 and gone.error["message"] == "Number is not on the DNC list"
    assert not echoes(gone, "2125552671")


def test_refusals_say_what_rule_and_never_what_was_sent(api, admin, buyer):
    """Every refusal is a fixed sentence: DNC, TCPA and state restriction."""
    api.post("/compliance/dnc", {"phone_number": NEW_YORK, "reason": "Consumer request"}, token=admin["token"])
    dnc = call(api, buyer, LOS_ANGELES, NEW_YORK)
    assert (dnc.status, dnc.error["message"]) == (403, "Number is on DNC list")
    api.put("/compliance/tcpa/hours", {"start_time": "08:00", "end_time": "09:00", "timezone": "UTC"},
            token=admin["token"])
    tcpa = call(api, buyer, NEW_YORK, SACRAMENTO)
    assert (tcpa.status, tcpa.error["code"]) == (403, "TCPA_VIOLATION")
    assert tcpa.error["message"] == "Call is outside the permitted calling hours"
    api.put("/compliance/tcpa/hours", {"start_time": "00:00", "end_time": "23:59", "timezone": "UTC"},
            token=admin["token"])
    restrict(api, admin, "CA")
    geo = call(api, buyer, NEW_YORK, SACRAMENTO)
    assert (geo.status, geo.error["message"]) == (403, "Call blocked by geographic restriction")
    for refused in (dnc, tcpa, geo):
        assert not echoes(refused, "2125552671", "9165550123", "3105550000")
        assert refused.error["details"] == []


@pytest.mark.parametrize("decoded", ["ÄÖ", "CA\n", "C\x00", " CA", "ＣＡ"])
def test_a_decoded_path_segment_is_checked_too(decoded):
    """Whether the gateway hands the segment over decoded or not: two ASCII letters, nothing around them."""
    from chalicelib.domain.errors import ValidationFailed
    from chalicelib.services.compliance import state_from_path

    with pytest.raises(ValidationFailed) as refused:
        state_from_path(decoded)
    assert refused.value.message == "State must be a two-letter code"
    assert state_from_path("ca") == "CA"

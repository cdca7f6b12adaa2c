"""The platform's blocked callers: admins list numbers and prefixes; a call from a number that is one or
starts with one is refused (CALLER_BLOCKED) and recorded, whether a buyer reports it or Twilio brings it,
and the check reads the caller's prefixes by key, never the list."""
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import phones
from chalicelib.persistence.tables import AccountModel, CallModel, ComplianceRefusalModel
from tests.api.test_webhooks import CALLER, said_goodbye, seller
from tests.api.test_webhooks import buyer as live_buyer  # noqa: F401 - a fixture: the owner of an exchange number
from tests.api.test_webhooks import twilio  # noqa: F401 - a fixture: posts as Twilio does
from tests.helpers import error_fields

SAN_FRANCISCO = "+14155552671"
NEW_YORK = "+12125552671"
CHICAGO = "+13125552671"

pytestmark = pytest.mark.usefixtures("afternoon_in_new_york")  # calling hours for outbound calls


@pytest.fixture
def admin(api):
    return api.admin()


@pytest.fixture
def buyer(api):
    return api.register("buyer")


def block(api, admin, phone_number, reason="Known TCPA litigator"):
    result = api.post("/admin/blocked-callers", {"phone_number": phone_number, "reason": reason}, token=admin["token"])
    assert result.status == 201, result.body
    return result.data


def report(api, buyer, from_number, to_number=NEW_YORK, direction="inbound"):
    return api.post("/calls", {"from_number": from_number, "to_number": to_number, "direction": direction},
                    token=buyer["token"])


def shown(result) -> str:
    """What an error tells (its request_id is random hex: "abc" or "1999" may be in it by chance)."""
    return str([result.error["message"], result.error["details"]])


def refusal_codes(api, user) -> list[str]:
    return [r["code"] for r in api.get("/compliance/refusals", token=user["token"]).data]


# --- the list ----------------------------------------------------------------------------------

def test_an_admin_adds_lists_and_removes_entries(api, admin, clock):
    first = block(api, admin, "+1212", "Known TCPA litigator")
    assert first == {"phone_number": "+1212", "reason": "Known TCPA litigator", "added_by": admin["user_id"],
                     "created_at": first["created_at"]}
    clock.advance(minutes=1)
    block(api, admin, SAN_FRANCISCO, "Card fraud")
    listed = api.get("/admin/blocked-callers", token=admin["token"])
    assert listed.status == 200
    assert [e["phone_number"] for e in listed.data] == [SAN_FRANCISCO, "+1212"]  # newest first
    assert listed.body["pagination"]["total"] == 2

    assert api.call("DELETE", "/admin/blocked-callers/+1212", token=admin["token"]).status == 204
    assert api.call("DELETE", "/admin/blocked-callers/%2B14155552671", token=admin["token"]).status == 204
    emptied = api.get("/admin/blocked-callers", token=admin["token"])
    assert emptied.data == [] and emptied.body["pagination"]["total"] == 0


def test_adding_again_changes_only_the_reason(api, admin, clock):
    first = block(api, admin, "+44", "Fraud ring")
    clock.advance(minutes=5)
    other_admin = api.admin()
    again = block(api, other_admin, "+44", "Fraud ring, confirmed")
    assert again == {**first, "reason": "Fraud ring, confirmed"}  # who added it and when stay
    listed = api.get("/admin/blocked-callers", token=admin["token"])
    assert listed.data == [again] and listed.body["pagination"]["total"] == 1


def test_pages_of_the_list(api, admin, clock):
    for digits in range(5):
        block(api, admin, f"+1{digits}")
        clock.advance(seconds=1)
    page1 = api.get("/admin/blocked-callers?limit=2", token=admin["token"])
    page2 = api.get(f"/admin/blocked-callers?limit=2&next_token={page1.body['pagination']['next_token']}",
                    token=admin["token"])
    page3 = api.get("/admin/blocked-callers?limit=2&page=3", token=admin["token"])
    assert [[e["phone_number"] for e in p.data] for p in (page1, page2, page3)] == [["+14", "+13"], ["+12", "+11"],
                                                                                  ["+10"]]
    assert page1.body["pagination"]["total_pages"] == 3 and page3.body["pagination"]["next_token"] is None


def test_removing_what_is_not_listed_is_a_404_that_does_not_echo_it(api, admin):
    result = api.call("DELETE", "/admin/blocked-callers/%2B1999", token=admin["token"])
    assert result.status == 404 and result.error["code"] == "BLOCKED_CALLER_NOT_FOUND"
    assert "1999" not in shown(result)
    assert api.get("/admin/blocked-callers", token=admin["token"]).body["pagination"]["total"] == 0


@pytest.mark.parametrize("account_type", ["buyer", "seller"])
def test_only_admins_keep_the_list(api, admin, account_type):
    block(api, admin, "+1212")
    user = api.register(account_type)
    for method, path, body in (("GET", "/admin/blocked-callers", None),
                               ("POST", "/admin/blocked-callers", {"phone_number": "+1", "reason": "Mine"}),
                               ("DELETE", "/admin/blocked-callers/%2B1212", None)):
        denied = api.call(method, path, body, token=user["token"])
        assert denied.status == 403 and denied.error["type"] == "AUTHORIZATION_ERROR", (method, denied.body)
        anonymous = api.call(method, path, body)
        assert anonymous.status == 401 and anonymous.error["type"] == "AUTHENTICATION_ERROR", (method, anonymous.body)
    assert [e["phone_number"] for e in api.get("/admin/blocked-callers", token=admin["token"]).data] == ["+1212"]


BAD_ENTRIES = ["+", "+abc", "+1 212", "+1212 ", " +1212", "1212", "", "++1212", "+1-212", "+1212\n",
               "+١٢١٢",  # Arabic-Indic digits
               "+１２１２",  # full-width digits
               "+1234567890123456",  # 16 digits: 17 characters
               "+12345678901234567890", 1212, None, ["+1212"]]


@pytest.mark.parametrize("entry", BAD_ENTRIES)
def test_a_bad_number_or_prefix_is_a_400(api, admin, entry):
    result = api.post("/admin/blocked-callers", {"phone_number": entry, "reason": "Fraud"}, token=admin["token"])
    assert result.status == 400, result.body
    assert result.error["type"] == "VALIDATION_ERROR" and error_fields(result) == {"phone_number"}
    assert api.get("/admin/blocked-callers", token=admin["token"]).data == []


@pytest.mark.parametrize("body", [{"phone_number": "+1212"}, {"phone_number": "+1212", "reason": ""},
                                  {"phone_number": "+1212", "reason": "<script>alert(1)</script>"},
                                  {"phone_number": "+1212", "reason": "x" * 201},
                                  {"phone_number": "+1212", "reason": "Fraud", "added_by": "someone"}])
def test_a_bad_reason_or_an_unknown_field_is_a_400(api, admin, body):
    result = api.post("/admin/blocked-callers", body, token=admin["token"])
    assert result.status == 400 and result.error["type"] == "VALIDATION_ERROR", result.body
    assert api.get("/admin/blocked-callers", token=admin["token"]).data == []


@pytest.mark.parametrize("segment", ["%2B", "%2Babc", "%2B1%20212", "1212", "%2B%D9%A1%D9%A2",
                                     "%2B%EF%BC%91%EF%BC%92", "%2B1234567890123456", "%2B1212%0A", "%252B1212",
                                     "%3Cscript%3E"])
def test_a_bad_number_or_prefix_in_the_path_is_a_400_that_does_not_echo_it(api, admin, segment):
    block(api, admin, "+1212")
    result = api.call("DELETE", f"/admin/blocked-callers/{segment}", token=admin["token"])
    assert result.status == 400, result.body
    assert error_fields(result) == {"number"} and result.error["details"][0]["code"] == "INVALID_PHONE_NUMBER"
    assert not any(sent in shown(result) for sent in ("abc", "script", "1234567890", "%2B", "1212"))
    assert api.get("/admin/blocked-callers", token=admin["token"]).body["pagination"]["total"] == 1


# --- calls reported through the API ------------------------------------------------------------

@pytest.mark.parametrize("entry", [SAN_FRANCISCO, "+1415", "+14155", "+1"])
def test_a_call_from_a_blocked_number_or_prefix_is_refused_and_recorded(api, admin, buyer, entry):
    block(api, admin, entry)
    refused = report(api, buyer, SAN_FRANCISCO)
    assert refused.status == 403 and refused.error["code"] == "CALLER_BLOCKED"
    assert refused.error["message"] == "Caller is blocked" and "4155552671" not in shown(refused)
    assert api.get("/calls", token=buyer["token"]).data == []
    [recorded] = ComplianceRefusalModel.query(buyer["user"]["id"])
    assert (recorded.code, recorded.from_number) == ("CALLER_BLOCKED", SAN_FRANCISCO)
    assert recorded.reason.endswith(f"blocked caller {entry}")
    assert refusal_codes(api, buyer) == ["CALLER_BLOCKED"]


def test_a_number_that_does_not_start_with_an_entry_passes(api, admin, buyer):
    block(api, admin, "+14156")  # San Francisco's +1 415 555 ... is not under it
    block(api, admin, SAN_FRANCISCO + "0")  # longer than the caller's number
    block(api, admin, "+44")
    assert report(api, buyer, SAN_FRANCISCO).status == 201
    assert report(api, buyer, NEW_YORK, to_number=SAN_FRANCISCO).status == 201  # only the caller is matched
    assert refusal_codes(api, buyer) == []


def test_outbound_calls_are_refused_too_before_any_other_rule(api, admin, buyer):
    api.post("/compliance/dnc", {"phone_number": NEW_YORK, "reason": "Consumer request"}, token=admin["token"])
    block(api, admin, "+1415")
    refused = report(api, buyer, SAN_FRANCISCO, NEW_YORK, direction="outbound")
    assert refused.status == 403 and refused.error["code"] == "CALLER_BLOCKED"
    assert report(api, buyer, CHICAGO, NEW_YORK, direction="outbound").error["code"] == "DNC_BLOCKED"


def test_removing_the_entry_lets_the_caller_through(api, admin, buyer):
    block(api, admin, "+1415")
    assert report(api, buyer, SAN_FRANCISCO).error["code"] == "CALLER_BLOCKED"
    assert api.call("DELETE", "/admin/blocked-callers/+1415", token=admin["token"]).status == 204
    assert report(api, buyer, SAN_FRANCISCO).status == 201


@pytest.mark.parametrize("direction", ["inbound", "outbound"])
def test_the_check_reads_by_key_in_one_round_trip_however_long_the_list(api, admin, buyer, clock, monkeypatch,
                                                                         direction):
    """The caller's prefixes, the callee's DNC entry, the window and the two states' restrictions are keys
    of one TransactGetItems: no Query, no Scan, whatever the list holds."""
    from pynamodb.connection.base import Connection

    from chalicelib.persistence.tables import BlockedCallerModel
    from chalicelib.services import compliance

    with BlockedCallerModel.batch_write() as entries:
        for area in set(range(200, 1000)) - {415}:  # every area code but the caller's
            entries.save(BlockedCallerModel(phone_number=f"+1{area}", reason="Fraud", added_by=admin["user_id"],
                                            created_at=clock()))
    api.post("/compliance/geographic/restrictions", {"state": "TX"}, token=admin["token"])
    calls: Counter = Counter()
    original = Connection._make_api_call

    def counted(self, operation_name, operation_kwargs, *args, **kwargs):
        calls[operation_name] += 1
        if operation_name == "TransactGetItems":
            calls["items"] += len(operation_kwargs["TransactItems"])
        return original(self, operation_name, operation_kwargs, *args, **kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counted)
    compliance.check_call(buyer["user"]["id"], direction, SAN_FRANCISCO, NEW_YORK, clock())
    # 11 prefixes of +14155552671, the states CA and NY, and outbound the window and the DNC entry
    assert calls == {"TransactGetItems": 1, "items": 13 if direction == "inbound" else 15}


# --- live calls --------------------------------------------------------------------------------

def test_a_live_call_from_a_blocked_caller_hears_goodbye_and_is_recorded(api, admin, twilio, live_buyer):
    ready = seller(api, "5.00", "+13125550002")
    block(api, admin, CALLER[:5])  # "+1415"
    answer = twilio.voice("CA" + "7" * 32, from_number=CALLER)
    assert said_goodbye(answer)
    assert b"cannot be connected" in answer.body
    assert CallModel.count() == 0  # nothing rang, nobody holds anything
    assert AccountModel.get(ready["user"]["id"]).held == 0
    assert refusal_codes(api, live_buyer) == ["CALLER_BLOCKED"]

    assert api.call("DELETE", "/admin/blocked-callers/%2B1415", token=admin["token"]).status == 204
    assert not said_goodbye(twilio.voice("CA" + "8" * 32, from_number=CALLER))  # rings the seller now


# --- the prefixes ------------------------------------------------------------------------------

def test_the_prefixes_of_a_number():
    assert phones.prefixes("+14155552671") == ["+1", "+14", "+141", "+1415", "+14155", "+141555", "+1415555",
                                               "+14155552", "+141555526", "+1415555267", "+14155552671"]
    assert len(phones.prefixes("+" + "9" * 15)) == 15
    assert phones.prefixes("+") == phones.prefixes("anonymous") == phones.prefixes("+" + "1" * 16) == []
    assert phones.longest_prefix_in("+14155552671", ["+1", "+1415", "+1416", "+141555526710"]) == "+1415"
    assert phones.longest_prefix_in("+14155552671", ["+44"]) is None


@given(number=st.from_regex(r"\+[0-9]{1,15}", fullmatch=True), entry=st.from_regex(r"\+[0-9]{1,15}", fullmatch=True))
def test_an_entry_matches_exactly_when_it_is_one_of_the_numbers_prefixes(number, entry):
    assert (entry in phones.prefixes(number)) == number.startswith(entry)
    assert (phones.longest_prefix_in(number, [entry]) == entry) == number.startswith(entry)

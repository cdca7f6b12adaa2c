"""Seed 003, "Compliance Testing" (test/e2e/compliance_test.go): the DNC list, the TCPA calling window and state
restrictions, over HTTP. The seed leaves the TCPA outcome to the hour the test runs at ("would need time
mocking"); here the product's clock is set, so both outcomes are asserted."""
from datetime import datetime, timezone

from tests.helpers import PASSWORD
from tests.seeds.helpers import SEED_CALLER, SEED_TOLL_FREE


def test_compliance_dnc_management_dnc_list_operations(api, admin):
    """TestCompliance_DNCManagement / DNC List Operations"""
    added = api.post("/compliance/dnc", {"phone_number": SEED_CALLER, "reason": "consumer request"},
                     token=admin["token"])
    assert added.status == 201, added.body

    buyer = api.register("buyer", email="buyer@example.com")
    call = api.post("/calls", {"from_number": SEED_TOLL_FREE, "to_number": SEED_CALLER}, token=buyer["token"])
    assert call.status == 403 and "DNC" in str(call.body)

    checked = api.get(f"/compliance/dnc/{SEED_CALLER}", token=admin["token"])  # the "+" as the seed sends it
    assert checked.status == 200, checked.body
    assert checked.data["is_dnc"] is True and checked.data["reason"] == "consumer request"


def test_compliance_dnc_management_tcpa_time_restrictions(api, admin, clock):
    """TestCompliance_DNCManagement / TCPA Time Restrictions"""
    window = {"start_time": "09:00", "end_time": "20:00", "timezone": "America/New_York"}
    assert api.put("/compliance/tcpa/hours", window, token=admin["token"]).status == 200
    hours = api.get("/compliance/tcpa/hours", token=admin["token"])
    assert hours.status == 200
    assert hours.data["start_time"] == "09:00" and hours.data["end_time"] == "20:00"

    body = {"from_number": SEED_TOLL_FREE, "to_number": SEED_CALLER}  # the callee is in San Francisco
    clock.current = datetime(2026, 11, 2, 16, 59, tzinfo=timezone.utc)  # 08:59 there (11:59 in New York)
    buyer = api.register("buyer", email="buyer@example.com")
    outside = api.post("/calls", body, token=buyer["token"])
    assert outside.status == 403 and outside.error["code"] == "TCPA_VIOLATION"
    clock.advance(minutes=1)  # 09:00 there: allowed
    assert api.post("/calls", body, token=buyer["token"]).status == 201
    clock.current = datetime(2026, 11, 3, 4, 0, tzinfo=timezone.utc)  # 20:00 there: the window has closed
    token = api.post("/auth/login", {"email": buyer["email"], "password": PASSWORD}).data["tokens"]["access_token"]
    closed = api.post("/calls", body, token=token)
    assert closed.status == 403 and closed.error["code"] == "TCPA_VIOLATION"


def test_compliance_geographic_restrictions_state_level_restrictions(api, admin):
    """TestCompliance_GeographicRestrictions / State-Level Restrictions"""
    restricted = api.post("/compliance/geographic/restrictions",
                          {"state": "CA", "restricted": True, "reason": "state regulations"}, token=admin["token"])
    assert restricted.status == 201, restricted.body

    buyer = api.register("buyer", email="buyer@example.com")
    call = api.post("/calls", {"from_number": SEED_TOLL_FREE, "to_number": SEED_CALLER}, token=buyer["token"])
    assert call.status == 403 and "geographic restriction" in str(call.body)

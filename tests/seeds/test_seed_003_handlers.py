"""Seed 003, "Handler Test Structure" (internal/api/rest/handlers_test.go): the seed's handler tests with mocked
services. Each case is an HTTP request with an expected status and body, so each is run over the API with the
real services behind it; the mocks' canned answers become the records the test makes first.

Our answers carry the record in `data` of the envelope {"success": true, "data": ...}, where the seed's
handlers answer the bare record."""
import pytest

from chalicelib.persistence.tables import AuctionModel, CallModel
from tests.seeds.helpers import SEED_CALLER, SEED_TOLL_FREE, funded

UNKNOWN_CALL = "550e8400-e29b-41d4-a716-446655440000"


@pytest.fixture
def buyer(api):
    return api.register("buyer")


def new_call(api, buyer, **body) -> dict:
    created = api.post("/calls", {"from_number": SEED_CALLER, "to_number": SEED_TOLL_FREE, **body},
                       token=buyer["token"])
    assert created.status == 201, created.body
    return created.data


def routable_profile(api, seller, amount: str = "5.00") -> dict:
    created = api.post("/bid-profiles", {"criteria": {"geography": {"countries": ["US"]}}, "bid_amount": amount,
                                         "destination_number": "+13125552671"}, token=seller["token"])
    assert created.status == 201, created.body
    return created.data


# --- TestHandler_CreateCall ----------------------------------------------------------------------------------

def test_handler_create_call_successful_call_creation(api, buyer):
    """TestHandler_CreateCall / successful call creation"""
    result = api.post("/calls", {"from_number": SEED_CALLER, "to_number": SEED_TOLL_FREE, "direction": "inbound"},
                      token=buyer["token"])
    assert result.status == 201, result.body
    assert result.data["id"] and result.data["status"] == "pending"
    assert result.data["from_number"] == SEED_CALLER and result.data["direction"] == "inbound"
    assert CallModel.get(result.data["id"]).owner_id == buyer["user"]["id"]


def test_handler_create_call_dnc_blocked_number(api, buyer, admin):
    """TestHandler_CreateCall / DNC blocked number (an outbound call, the default, to a listed number)"""
    assert api.post("/compliance/dnc", {"phone_number": SEED_TOLL_FREE, "reason": "consumer request"},
                    token=admin["token"]).status == 201
    result = api.post("/calls", {"from_number": SEED_CALLER, "to_number": SEED_TOLL_FREE}, token=buyer["token"])
    assert result.status == 403 and result.error["code"] == "DNC_BLOCKED"
    assert "Number is on DNC list" in result.error["message"]
    assert CallModel.count() == 0


def test_handler_create_call_invalid_phone_number(api, buyer):
    """TestHandler_CreateCall / invalid phone number"""
    result = api.post("/calls", {"from_number": "invalid", "to_number": SEED_TOLL_FREE}, token=buyer["token"])
    assert result.status == 400 and "Invalid from number" in str(result.body)


def test_handler_create_call_missing_required_fields(api, buyer):
    """TestHandler_CreateCall / missing required fields"""
    result = api.post("/calls", {"from_number": "", "to_number": SEED_TOLL_FREE}, token=buyer["token"])
    assert result.status == 400 and "Invalid from number" in str(result.body)


# --- TestHandler_RouteCall -----------------------------------------------------------------------------------

def test_handler_route_call_successful_routing(api, buyer):
    """TestHandler_RouteCall / successful routing (the seed's decision names the call, the bid, the buyer and the
    seller; ours is the routed call with its seller, profile and price)"""
    seller = funded(api, "seller")  # the seller pays the price: it is held from its balance
    profile = routable_profile(api, seller)
    call = new_call(api, buyer, direction="inbound")
    result = api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    assert result.status == 200, result.body
    assert result.data["id"] == call["id"] and result.data["buyer_id"] == buyer["user"]["id"]
    assert result.data["seller_id"] == seller["user"]["id"] and result.data["profile_id"] == profile["id"]
    assert result.data["price"] == "5.00" and result.data["status"] != "pending"


def test_handler_route_call_call_not_found(api, buyer):
    """TestHandler_RouteCall / call not found"""
    result = api.post(f"/calls/{UNKNOWN_CALL}/route", token=buyer["token"])
    assert result.status == 404 and "CALL_NOT_FOUND" in str(result.body)


def test_handler_route_call_invalid_call_state(api, buyer):
    """TestHandler_RouteCall / invalid call state (call not in pending state)"""
    call = new_call(api, buyer)
    assert api.call("PATCH", f"/calls/{call['id']}/status", {"status": "canceled"},
                    token=buyer["token"]).status == 200
    result = api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    assert result.status == 400 and "INVALID_STATE" in str(result.body)


def test_handler_route_call_invalid_uuid(api, buyer):
    """TestHandler_RouteCall / invalid UUID"""
    result = api.post("/calls/invalid-uuid/route", token=buyer["token"])
    assert result.status == 400 and "INVALID_UUID" in str(result.body)


# --- TestHandler_CreateBidProfile ----------------------------------------------------------------------------

SEED_PROFILE = {"criteria": {"geography": {"countries": ["US"], "states": ["CA", "NY"]}, "max_budget": 100.00,
                             "call_type": ["sales"]},
                "active": True}


def test_handler_create_bid_profile_seller_creates_bid_profile(api):
    """TestHandler_CreateBidProfile / seller creates bid profile"""
    seller = api.register("seller")
    result = api.post("/bid-profiles", SEED_PROFILE, token=seller["token"])
    assert result.status == 201, result.body
    assert result.data["id"] and result.data["active"] is True
    assert result.data["criteria"]["geography"] == {"countries": ["US"], "states": ["CA", "NY"]}
    assert result.data["criteria"]["max_budget"] == "100.00" and result.data["criteria"]["call_type"] == ["sales"]


def test_handler_create_bid_profile_buyer_cannot_create_bid_profile(api, buyer):
    """TestHandler_CreateBidProfile / buyer cannot create bid profile"""
    result = api.post("/bid-profiles", {"criteria": {"max_budget": 100.00}, "active": True}, token=buyer["token"])
    assert result.status == 403 and result.error["type"] == "AUTHORIZATION_ERROR"


# --- TestHandler_CreateAuction -------------------------------------------------------------------------------

def test_handler_create_auction_successful_auction_creation(api, buyer):
    """TestHandler_CreateAuction / successful auction creation"""
    call = new_call(api, buyer, direction="inbound")
    result = api.post("/auctions", {"call_id": call["id"], "reserve_price": 2.00, "duration": 30},
                      token=buyer["token"])
    assert result.status == 201, result.body
    assert result.data["id"] and result.data["call_id"] == call["id"]
    assert result.data["status"] == "active" and result.data["reserve_price"] == "2.00"
    assert AuctionModel.get(result.data["id"]).call_id == call["id"]


def test_handler_create_auction_negative_reserve_price(api, buyer):
    """TestHandler_CreateAuction / negative reserve price"""
    call = new_call(api, buyer)
    result = api.post("/auctions", {"call_id": call["id"], "reserve_price": -1.00}, token=buyer["token"])
    assert result.status == 400 and "Reserve price cannot be negative" in str(result.body)
    assert AuctionModel.count() == 0


# --- TestHandler_ComplianceEndpoints -------------------------------------------------------------------------

def test_handler_compliance_endpoints_add_to_dnc_list(api, admin):
    """TestHandler_ComplianceEndpoints / add to DNC list"""
    result = api.post("/compliance/dnc", {"phone_number": SEED_CALLER, "reason": "consumer request"},
                      token=admin["token"])
    assert result.status == 201, result.body
    assert result.data["phone_number"] == SEED_CALLER and result.data["list_type"] == "internal"


def test_handler_compliance_endpoints_set_tcpa_hours(api, admin):
    """TestHandler_ComplianceEndpoints / set TCPA hours"""
    result = api.put("/compliance/tcpa/hours", {"start_time": "09:00", "end_time": "20:00",
                                                "timezone": "America/New_York"}, token=admin["token"])
    assert result.status == 200, result.body
    assert result.data["start_time"] == "09:00" and result.data["end_time"] == "20:00"

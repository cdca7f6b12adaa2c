"""The seeds' own request bodies and field names, snake_cased, over the API: each test is named after the seed
test case its payloads come from (seed 000: the DID buy system; seed 003: the call exchange).

Where a seed's system answered synchronously and ours works in the background (a purchase), the test asserts
what we answer instead: 201 with every result PENDING, then SUCCESS or FAILED on the order."""
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from chalicelib.domain import numbers as number_rules
from chalicelib.persistence.tables import (
    BidProfileModel, NumberModel, PhoneClaimModel, RouteEntryModel, SessionModel, UserModel,
)
from tests.api.test_numbers import run_provisioning
from tests.api.test_webhooks import EXCHANGE_NUMBER, Twilio, dialed, said_goodbye
from tests.helpers import error_fields

SEED_CALLER = "+14155551234"  # San Francisco, CA: the seeds' caller
SEED_TOLL_FREE = "+18005551234"  # US, no state


pytestmark = pytest.mark.usefixtures("afternoon_in_new_york")  # 13:00 in New York: calling hours


@pytest.fixture
def admin(api):
    return api.admin()


def funded(api, account_type: str, amount: str = "100.00", **overrides) -> dict:
    user = api.register(account_type, **overrides)
    api.fund(user, amount)
    return user


# --- seed 000: registration and login --------------------------------------------------------------------

def test_register_should_register_a_new_user_successfully(api):
    """Seed 000 sends no account_type: the account is a buyer."""
    body = {"email": "newuser@example.com", "password": "Test123!", "first_name": "New", "last_name": "User",
            "company": "Test Company", "accept_terms": True}
    response = api.post("/auth/register", body)
    assert response.status == 201, response.body
    user = response.data["user"]
    assert user["email"] == "newuser@example.com" and user["first_name"] == "New" and user["last_name"] == "User"
    assert user["account_type"] == "buyer" and user["email_verified"] is False
    tokens = response.data["tokens"]
    assert tokens["access_token"] and tokens["refresh_token"] and isinstance(tokens["expires_in"], int)
    # A buyer: it may use the number store, and may not keep bid profiles.
    assert api.get("/numbers", token=tokens["access_token"]).status == 200
    assert api.post("/bid-profiles", {"criteria": {"max_budget": 100}},
                    token=tokens["access_token"]).status == 403


def test_register_with_an_account_type_still_takes_it(api):
    seller = api.post("/auth/register", {"email": "seller@example.com", "password": "Test123!", "first_name": "S",
                                         "last_name": "Eller", "account_type": "seller", "accept_terms": True})
    assert seller.status == 201 and seller.data["user"]["account_type"] == "seller"


def _latest_session(user_id: str) -> SessionModel:
    return SessionModel.get(UserModel.get(user_id, consistent_read=True).session_ids[-1], consistent_read=True)


def test_login_should_successfully_login_with_valid_credentials(api):
    """Seed 000's login carries device_info; it is kept on the session the login opens."""
    user = api.register(email="test@example.com", password="Test123!")
    device_info = {"platform": "web", "browser": "chrome", "version": "91.0"}
    result = api.post("/auth/login", {"email": "test@example.com", "password": "Test123!",
                                      "device_info": device_info})
    assert result.status == 200, result.body
    assert result.data["user"]["id"] == user["user"]["id"] and result.data["tokens"]["access_token"]
    session = _latest_session(user["user"]["id"])
    assert session.device_info == device_info
    # Rotating the refresh token keeps the session, and what the device said about itself.
    rotated = api.post("/auth/refresh", {"refresh_token": result.data["tokens"]["refresh_token"]})
    assert rotated.status == 200
    assert SessionModel.get(session.session_id, consistent_read=True).device_info == device_info
    # Without device_info a login keeps none.
    assert api.post("/auth/login", {"email": "test@example.com", "password": "Test123!"}).status == 200
    assert _latest_session(user["user"]["id"]).device_info is None


@pytest.mark.parametrize("device_info", [
    "web",  # an object, not a string
    {"platform": "<script>alert(1)</script>"},
    {"platform": {"name": "web"}},  # values are short text, numbers or booleans
    {"not a key": "web"},
    {f"k{i}": "v" for i in range(11)},  # at most 10
])
def test_login_device_info_is_validated(api, device_info):
    user = api.register(email="device@example.com", password="Test123!")
    result = api.post("/auth/login", {"email": user["email"], "password": "Test123!", "device_info": device_info})
    assert result.status == 400 and "device_info" in {f.split(".")[0] for f in error_fields(result)}
    assert "<script>" not in str(result.body)


# --- seed 000: numbers -----------------------------------------------------------------------------------

def test_numbers_should_search_for_available_numbers(api):
    buyer = funded(api, "buyer")
    response = api.get("/numbers/search?country_code=US&area_code=415&limit=20", token=buyer["token"])
    assert response.status == 200
    assert response.data and all(n["phone_number"].startswith("+1415") for n in response.data)
    # The emulator answers as Twilio does ({"voice", "SMS", "MMS", "fax"}): shown as {voice, sms, mms}.
    assert all(n["capabilities"] == {"voice": True, "sms": True, "mms": True} for n in response.data)
    # Seed 000's countryCode and pricing: {monthlyPrice, currency}, with our setup price beside it.
    assert all(n["country_code"] == "US" and n["pricing"] == {
        "monthly_price": n["monthly_price"], "setup_price": n["setup_price"], "currency": "USD"} for n in response.data)


def _purchase(api, buyer, phone_number: str, friendly_name: str = "Test Number", **extra):
    return api.post("/numbers/purchase", {"numbers": [{"phone_number": phone_number, "friendly_name": friendly_name,
                                                       **extra}]}, token=buyer["token"])


def _available(api, buyer) -> str:
    return api.get("/numbers/search?country_code=US&area_code=415&limit=5", token=buyer["token"]).data[0][
        "phone_number"]


def test_numbers_should_purchase_numbers_successfully(api, client):
    buyer = funded(api, "buyer")
    wanted = _available(api, buyer)
    response = _purchase(api, buyer, wanted, configuration={"voice_url": "https://example.com/voice",
                                                            "voice_method": "POST"})
    assert response.status == 201, response.body
    # Bought in the background: every result PENDING in the answer ...
    assert response.data["results"] == [{"phone_number": wanted, "status": "PENDING", "error": None,
                                         "number_id": None}]
    assert [i["status"] for i in response.data["items"]] == ["PENDING"]  # the items, as before
    run_provisioning(client)
    # ... then SUCCESS on the order, with the number it made.
    order = api.get(f"/orders/{response.data['order_id']}", token=buyer["token"]).data
    result = order["results"][0]
    assert result["status"] == "SUCCESS" and result["phone_number"] == wanted and result["error"] is None
    saved = NumberModel.get(result["number_id"])
    assert saved.owner_id == buyer["user"]["id"] and saved.twilio_sid.startswith("PN")
    assert saved.voice_url == "https://example.com/voice"


def test_numbers_should_create_order_for_purchase(api, client):
    buyer = funded(api, "buyer")
    response = _purchase(api, buyer, _available(api, buyer),
                         configuration={"voice_url": "https://example.com/voice", "voice_method": "POST"})
    run_provisioning(client)
    order = api.get(f"/orders/{response.data['order_id']}", token=buyer["token"]).data
    assert order["status"] == "COMPLETED" and len(order["numbers"]) == 1
    assert order["id"] == order["order_id"] == response.data["id"]  # id, as every resource has (the seed's orderId too)
    assert order["numbers"][0]["id"] == order["results"][0]["number_id"]


def test_numbers_should_handle_twilio_purchase_failure(api, client):
    buyer = funded(api, "buyer")
    response = _purchase(api, buyer, "+15005550000")  # Twilio's test number that is never available
    assert response.status == 201 and response.data["results"][0]["status"] == "PENDING"
    run_provisioning(client)
    order = api.get(f"/orders/{response.data['order_id']}", token=buyer["token"]).data
    result = order["results"][0]
    assert result["status"] == "FAILED" and "not available" in result["error"] and result["number_id"] is None
    assert order["items"][0]["error_code"] == 21422  # Twilio's code stays on the item
    # Lists carry results too.
    listed = api.get("/orders", token=buyer["token"]).data
    assert listed[0]["results"] == order["results"]


def test_should_complete_full_user_registration_to_number_purchase_flow(api, client):
    """Seed 000 §5.1, with what differs here: the new account is funded before it buys (a purchase is
    paid from the balance) and the purchase completes in the background."""
    registered = api.post("/auth/register", {"email": "journey@example.com", "password": "Test123!",
                                             "first_name": "Journey", "last_name": "User",
                                             "company": "Test Company", "accept_terms": True})
    assert registered.status == 201
    user = {**registered.data, "token": registered.data["tokens"]["access_token"]}
    api.fund(user)
    available = api.get("/numbers/search?country_code=US&area_code=415", token=user["token"]).data[0]
    assert set(available["capabilities"]) == {"voice", "sms", "mms"}
    purchase = _purchase(api, user, available["phone_number"], "My First Number")
    assert purchase.status == 201 and purchase.data["results"][0]["status"] == "PENDING"
    run_provisioning(client)
    order = api.get(f"/orders/{purchase.data['order_id']}", token=user["token"]).data
    assert order["status"] == "COMPLETED" and len(order["numbers"]) == 1
    numbers = api.get("/numbers", token=user["token"]).data
    assert [n["phone_number"] for n in numbers] == [available["phone_number"]]
    configured = api.put(f"/numbers/{numbers[0]['id']}", {"voice_url": "https://myapp.com/voice",
                                                            "voice_method": "POST",
                                                            "friendly_name": "My Configured Number"},
                         token=user["token"])
    assert configured.status == 200


# --- seed 000: admin -------------------------------------------------------------------------------------

def test_should_complete_admin_user_management_flow(api, admin, outbox):
    from chalicelib.gateways import queues

    regular = api.register(email="managed@example.com", password="Test123!")
    user_id = regular["user"]["id"]
    assert api.get(f"/admin/users/{user_id}", token=admin["token"]).status == 200
    suspended = api.put(f"/admin/users/{user_id}/suspend",
                        {"reason": "Policy violation", "duration": 7, "notify_user": True}, token=admin["token"])
    assert suspended.status == 200, suspended.body
    assert suspended.data["status"] == "suspended" and suspended.data["suspension_reason"] == "Policy violation"
    # duration is in days, as duration_days is.
    until = datetime.fromisoformat(suspended.data["suspended_until"].replace("Z", "+00:00"))
    assert until == datetime(2026, 11, 9, 18, 0, tzinfo=timezone.utc)  # 7 days from now
    outbox.publish()  # the notification was stored with the suspension; the outbox's stream sends it
    sqs = queues._client()
    messages = sqs.receive_message(QueueUrl=queues.queue_url(queues.NOTIFICATIONS)).get("Messages", [])
    assert len(messages) == 1 and "Policy violation" in messages[0]["Body"]  # notify_user: told

    login = api.post("/auth/login", {"email": "managed@example.com", "password": "Test123!"})
    assert login.status == 403 and login.error["type"] == "AUTHORIZATION_ERROR"
    assert api.put(f"/admin/users/{user_id}/reactivate", token=admin["token"]).status == 200
    assert api.post("/auth/login", {"email": "managed@example.com", "password": "Test123!"}).status == 200


@pytest.mark.parametrize("body", [
    {"reason": "x", "duration": 0},
    {"reason": "x", "duration": "7"},  # a number of days, not a string
    {"reason": "x", "duration": 7, "duration_days": 7},  # one name or the other
])
def test_suspend_duration_is_validated_as_duration_days_is(api, admin, body):
    user = api.register()
    result = api.put(f"/admin/users/{user['user']['id']}/suspend", body, token=admin["token"])
    assert result.status == 400
    assert UserModel.get(user["user"]["id"]).status == "active"


# --- seed 003: compliance --------------------------------------------------------------------------------

def test_compliance_geographic_restrictions_state_level_restrictions(api, admin):
    restrict = api.post("/compliance/geographic/restrictions",
                        {"state": "CA", "restricted": True, "reason": "state regulations"}, token=admin["token"])
    assert restrict.status == 201, restrict.body
    assert restrict.data["state"] == "CA" and restrict.data["restricted"] is True
    assert restrict.data["reason"] == "state regulations"
    buyer = api.register("buyer")
    call = api.post("/calls", {"from_number": SEED_TOLL_FREE, "to_number": SEED_CALLER}, token=buyer["token"])
    assert call.status == 403 and "geographic restriction" in call.error["message"]


def test_compliance_geographic_restrictions_restricted_false_lifts_the_restriction(api, admin):
    path = "/compliance/geographic/restrictions"
    api.post(path, {"state": "CA", "restricted": True, "reason": "state regulations"}, token=admin["token"])
    lifted = api.post(path, {"state": "CA", "restricted": False, "reason": "regulations repealed"},
                      token=admin["token"])
    assert lifted.status == 200, lifted.body
    assert lifted.data["state"] == "CA" and lifted.data["restricted"] is False
    assert api.get(path, token=admin["token"]).data == []
    buyer = api.register("buyer")
    call = api.post("/calls", {"from_number": SEED_TOLL_FREE, "to_number": SEED_CALLER}, token=buyer["token"])
    assert call.status == 201
    # Lifting what is not restricted is a 404, as DELETE .../{state} is.
    again = api.post(path, {"state": "CA", "restricted": False}, token=admin["token"])
    assert again.status == 404 and again.error["code"] == "RESTRICTION_NOT_FOUND"
    # Restricting twice is still a 409.
    api.post(path, {"state": "TX", "restricted": True}, token=admin["token"])
    assert api.post(path, {"state": "TX", "restricted": True}, token=admin["token"]).status == 409


# --- seed 003: bid profiles of only criteria + active ------------------------------------------------------

def test_create_bid_profile_seller_creates_bid_profile(api):
    seller = api.register("seller")
    body = {"criteria": {"geography": {"countries": ["US"], "states": ["CA", "NY"]}, "max_budget": 100.00,
                         "call_type": ["sales"]},
            "active": True}
    created = api.post("/bid-profiles", body, token=seller["token"])
    assert created.status == 201, created.body
    assert created.data["id"] and created.data["active"] is True and created.data["criteria"]
    assert created.data["bid_amount"] is None and created.data["destination_number"] is None
    # Listed under its keys (so auction.started finds it) with no bid: instant routing passes it over.
    entries = list(RouteEntryModel.scan(RouteEntryModel.profile_id == created.data["id"]))
    assert sorted(e.route_key for e in entries) == ["US#CA", "US#NY"]
    assert {e.bid_amount for e in entries} == {None}
    assert BidProfileModel.get(created.data["id"]).bid_amount is None


def test_role_based_access_control_bid_profiles(api):
    body = {"criteria": {"max_budget": 100}}
    assert api.post("/bid-profiles", body, token=api.register("seller")["token"]).status == 201
    assert api.post("/bid-profiles", body, token=api.admin()["token"]).status == 201
    assert api.post("/bid-profiles", body, token=api.register("buyer")["token"]).status == 403


# --- seed 003: the multi-seller auction, and matching --------------------------------------------------------

SEED_SELLERS = [  # (email, criteria), as seed 003's "Multi-Seller Auction Competition" sets them up
    ("premium-seller@example.com", {"geography": {"countries": ["US"]}, "call_type": ["sales"],
                                    "max_budget": 50.00}),
    ("budget-seller@example.com", {"geography": {"countries": ["US", "CA"]}, "call_type": ["sales", "support"],
                                   "max_budget": 25.00}),
    ("specialized-seller@example.com", {"geography": {"countries": ["US"], "states": ["CA", "NY"]},
                                        "call_type": ["sales"], "keywords": ["insurance", "finance"],
                                        "max_budget": 75.00}),
]


def seed_sellers(api) -> list[dict]:
    sellers = []
    for email, criteria in SEED_SELLERS:
        seller = funded(api, "seller", email=email)  # a winner pays its price: funds to hold it from
        created = api.post("/bid-profiles", {"criteria": criteria, "active": True}, token=seller["token"])
        assert created.status == 201, created.body
        sellers.append(seller)
    return sellers


def open_auction(api, buyer, **call) -> dict:
    created = api.post("/calls", {"from_number": SEED_CALLER, "to_number": SEED_TOLL_FREE, "direction": "inbound",
                                  **call}, token=buyer["token"])
    assert created.status == 201, created.body
    auction = api.post("/auctions", {"call_id": created.data["id"], "reserve_price": 1.00, "duration": 10},
                       token=buyer["token"])
    assert auction.status == 201, auction.body
    return {"call": created.data, "auction": auction.data}


def bid(api, seller, auction, amount):
    return api.post("/bids", {"auction_id": auction["id"], "amount": amount}, token=seller["token"])


def test_multi_seller_auction_competition(api):
    sellers = seed_sellers(api)
    # The seed's buyer has no funds: the call's payout pays its telephony.
    buyer = api.register("buyer", email="buyer@example.com")
    opened = open_auction(api, buyer)  # the call states neither call_type nor keywords
    call, auction = opened["call"], opened["auction"]
    for seller, amount in zip(sellers, [15.50, 8.25, 22.00]):
        placed = bid(api, seller, auction, amount)
        assert placed.status == 201, placed.body
    completed = api.post(f"/auctions/{auction['id']}/complete", token=buyer["token"])
    assert completed.status == 200
    assert completed.data["winner"]["seller_id"] == sellers[2]["user"]["id"]  # the highest bid: 22.00
    assert completed.data["winner"]["amount"] == "22.00"
    assert completed.data["status"] == "completed"
    assert completed.data["winning_bid"]["seller_id"] == sellers[2]["user"]["id"]
    assert completed.data["winning_bid"]["amount"] == "22.00" and completed.data["winning_bid"]["id"]

    # The winner's profile has no destination_number: the call is routed to its seller all the same.
    routed = api.post(f"/calls/{call['id']}/route", token=buyer["token"])
    assert routed.status == 200, routed.body
    assert routed.data["seller_id"] == sellers[2]["user"]["id"] and routed.data["price"] == "22.00"
    assert routed.data["destination_number"] is None
    for status in ("ringing", "in_progress"):
        assert api.call("PATCH", f"/calls/{call['id']}/status", {"status": status},
                        token=buyer["token"]).status == 200
    done = api.post(f"/calls/{call['id']}/complete", {"duration": 240}, token=buyer["token"])
    assert done.status == 200, done.body
    assert Decimal(done.data["cost"]) > 0
    assert done.data["buyer_id"] == buyer["user"]["id"] and done.data["seller_id"] == sellers[2]["user"]["id"]
    assert done.data["start_time"] and done.data["end_time"] and done.data["duration"] == 240
    money = api.get("/account/balance", token=buyer["token"])
    assert money.status == 200
    # 22.00 less the 20% take, less 4 minutes at $0.02 taken from that payout: the balance is untouched.
    assert money.data["earnings"] == "17.52" and money.data["balance"] == "0.00"


def test_multi_seller_auction_competition_a_call_that_states_its_facts_still_excludes(api):
    """The other way round: what a call states excludes the profiles that target something else."""
    premium, budget, specialized = seed_sellers(api)
    buyer = api.register("buyer")

    support = open_auction(api, buyer, call_type="support")["auction"]
    assert bid(api, premium, support, 15.50).error["code"] == "NO_MATCHING_PROFILE"  # sales only
    assert bid(api, budget, support, 8.25).status == 201  # sales and support
    assert bid(api, specialized, support, 22.00).error["code"] == "NO_MATCHING_PROFILE"

    auto_sales = open_auction(api, buyer, call_type="sales", keywords=["auto"])["auction"]
    assert bid(api, premium, auto_sales, 15.50).status == 201  # targets no keywords
    assert bid(api, specialized, auto_sales, 22.00).error["code"] == "NO_MATCHING_PROFILE"  # insurance, finance

    # Keywords alone, in any case: the call states no call_type, so the sales profiles match.
    insurance = open_auction(api, buyer, keywords=["Insurance"])["auction"]
    assert bid(api, specialized, insurance, 22.00).status == 201
    assert bid(api, premium, insurance, 15.50).status == 201


def routable_profile(api, seller, bid_amount: str, destination: str, **criteria) -> dict:
    created = api.post("/bid-profiles", {"criteria": criteria, "bid_amount": bid_amount,
                                         "destination_number": destination}, token=seller["token"])
    assert created.status == 201, created.body
    return created.data


def test_instant_routing_never_chooses_a_profile_of_only_criteria(api):
    auctions_only = funded(api, "seller")
    profile = api.post("/bid-profiles", {"criteria": {"call_type": ["sales"]}, "active": True},
                       token=auctions_only["token"]).data
    buyer = funded(api, "buyer", "10.00")

    def route(**call):
        created = api.post("/calls", {"from_number": SEED_CALLER, "to_number": SEED_TOLL_FREE,
                                      "direction": "inbound", **call}, token=buyer["token"])
        return api.post(f"/calls/{created.data['id']}/route", token=buyer["token"])

    refused = route()
    assert refused.status == 400 and refused.error["code"] == "NO_BIDS_AVAILABLE"

    # A routable profile that targets a call type gets a call that states none (the matching rule) ...
    routable_seller = funded(api, "seller")
    routable = routable_profile(api, routable_seller, "2.00", "+13125552671", call_type=["sales"],
                                keywords=["insurance"])
    routed = route()
    assert routed.status == 200 and routed.data["profile_id"] == routable["id"]
    # ... and not one that states another.
    assert route(call_type="support").error["code"] == "NO_BIDS_AVAILABLE"

    # Given a bid_amount and a destination_number, the profile becomes a route candidate.
    changed = api.put(f"/bid-profiles/{profile['id']}", {"bid_amount": "3.00", "destination_number": "+13125552672"},
                      token=auctions_only["token"])
    assert changed.status == 200 and changed.data["bid_amount"] == "3.00"
    routed = route(call_type="sales")
    assert routed.status == 200 and routed.data["profile_id"] == profile["id"]
    assert routed.data["destination_number"] == "+13125552672"


def test_a_live_call_never_rings_a_profile_of_only_criteria(api, clock):
    buyer = api.register("buyer")
    owner = buyer["user"]["id"]
    number_id = str(uuid.uuid4())
    NumberModel(number_id=number_id, owner_id=owner, order_id=str(uuid.uuid4()), phone_number=EXCHANGE_NUMBER,
                owner_status=f"{owner}#ACTIVE", twilio_sid="PN" + "1" * 32, friendly_name="Sales",
                number_type="local", country_code="US", status=number_rules.ACTIVE, routing=number_rules.EXCHANGE,
                setup_price=10_000, monthly_price=15_000, billed_through="2026-11", created_at=clock(),
                updated_at=clock()).save()
    PhoneClaimModel(phone_number=EXCHANGE_NUMBER, number_id=number_id, owner_id=owner).save()
    twilio = Twilio(api)

    auctions_only = funded(api, "seller")
    assert api.post("/bid-profiles", {"criteria": {}, "active": True}, token=auctions_only["token"]).status == 201
    assert said_goodbye(twilio.voice("CA" + uuid.uuid4().hex))  # nobody to ring

    routable_seller = funded(api, "seller")
    routable_profile(api, routable_seller, "1.00", "+13125552671")
    number, _ = dialed(twilio.voice("CA" + uuid.uuid4().hex))
    assert number == "+13125552671"

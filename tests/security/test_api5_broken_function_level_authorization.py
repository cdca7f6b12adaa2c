"""OWASP API5:2023 Broken Function Level Authorization: who may call each operation is what the OpenAPI
document (`GET /api/v1/openapi.json`) says in its `x-account-types`, and the API holds to it. Every
admin-only operation is 403 FORBIDDEN_ACCOUNT_TYPE for buyers and sellers (and changes nothing, though the
request would be a valid one from an admin); every operation refuses each account type it does not list and
serves those it does; every secured operation is 401 without a token."""
from __future__ import annotations

import re

import pytest

from tests.security.helpers import CALLEE, ROLES, UNKNOWN
from tests.security.helpers import afternoon, market, quick_password_hashing, recording_api  # noqa: F401 - fixtures

PUBLIC_OPERATIONS = {
    ("POST", "/auth/register"), ("POST", "/auth/login"), ("POST", "/auth/refresh"), ("POST", "/auth/forgot-password"),
    ("POST", "/auth/reset-password"), ("POST", "/auth/verify-email"), ("POST", "/auth/resend-verification"),
    ("GET", "/health"), ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/config"),  # before signing in
    ("POST", "/webhooks/twilio/voice"), ("POST", "/webhooks/twilio/dial"), ("POST", "/webhooks/twilio/status"),
    ("POST", "/webhooks/twilio/recording"), ("POST", "/webhooks/stripe"),  # webhooks: the sender's signature
}
# Bodies an allowed caller's request would succeed with: a refusal is then the role check, not a bad body.
VALID_BODIES = {
    ("PUT", "/admin/users/{user_id}"): {"credit_limit": "500.00"},
    ("PUT", "/admin/users/{user_id}/suspend"): {"reason": "Taking over", "duration_days": 1},
    ("POST", "/admin/users/{user_id}/credits"): {"amount": "100.00", "reason": "Free money"},
    ("POST", "/compliance/dnc"): {"phone_number": "+13125550123", "reason": "Competitor's line"},
    ("PUT", "/compliance/tcpa/hours"): {"start_time": "00:00", "end_time": "23:59", "timezone": "UTC"},
    ("POST", "/compliance/geographic/restrictions"): {"state": "TX", "reason": "x"},
    ("POST", "/calls"): {"from_number": "+14155552671", "to_number": CALLEE},
    ("POST", "/bid-profiles"): {"bid_amount": "1.00", "destination_number": "+13125552671"},
    ("PUT", "/bid-profiles/{profile_id}"): {"bid_amount": "1.00"},
    ("POST", "/bids"): {"auction_id": UNKNOWN, "amount": "1.00"},
    ("POST", "/auctions"): {"call_id": UNKNOWN},
    ("PATCH", "/calls/{call_id}/status"): {"status": "canceled"},
    ("POST", "/calls/{call_id}/complete"): {"duration": 60},
    ("PUT", "/numbers/{number_id}"): {"friendly_name": "Mine"},
    ("POST", "/numbers/purchase"): {"numbers": [{"phone_number": "+15005550006", "friendly_name": "x"}]},
}


@pytest.fixture
def document(market):
    answer = market.api.get("/openapi.json")
    assert answer.status == 200
    return answer.body


def operations(document: dict) -> list[tuple[str, str, dict]]:
    return [(method.upper(), path, op) for path, methods in document["paths"].items() for method, op in methods.items()]


def concrete(path: str, user_id: str) -> str:
    """A request path for a templated one: the caller's own user id (the worst case: crediting oneself), a
    listed DNC number, a restricted state, an unknown id for anything else."""
    path = path.replace("{user_id}", user_id).replace("{phone_number}", "%2B12125552671").replace("{state}", "NY")
    return re.sub(r"\{[a-z_]+\}", UNKNOWN, path)


def attempt(market, role_user: dict, method: str, path: str):
    body = VALID_BODIES.get((method, path), {} if method in ("POST", "PUT", "PATCH") else None)
    return market.api.call(method, concrete(path, role_user["user"]["id"]), body, token=role_user["token"])


@pytest.fixture
def users(market):
    return {"buyer": market.user("buyer"), "seller": market.user("seller"), "admin": market.admin}


def test_the_document_says_who_may_call_every_secured_operation(document):
    public = set()
    for method, path, op in operations(document):
        if "security" not in op:
            public.add((method, path))
            continue
        assert set(op["x-account-types"]) <= set(ROLES) and op["x-account-types"], (method, path)
        assert "403" in op["responses"] and "401" in op["responses"], (method, path)
    assert public == PUBLIC_OPERATIONS


def test_admin_only_operations_refuse_buyers_and_sellers_and_change_nothing(market, document, users):
    api, admin = market.api, market.admin["token"]
    api.post("/compliance/dnc", {"phone_number": "+12125552671", "reason": "Consumer request"}, token=admin)
    api.post("/compliance/geographic/restrictions", {"state": "NY"}, token=admin)
    hours = api.get("/compliance/tcpa/hours", token=admin).data
    admin_only = [(m, p) for m, p, op in operations(document) if op.get("x-account-types") == ["admin"]]
    assert {("GET", "/admin/users"), ("GET", "/admin/ledger"), ("POST", "/admin/users/{user_id}/credits"),
            ("PUT", "/compliance/tcpa/hours"), ("DELETE", "/compliance/dnc/{phone_number}")} <= set(admin_only)

    for role in ("buyer", "seller"):
        for method, path in admin_only:
            refused = attempt(market, users[role], method, path)
            assert refused.status == 403, (role, method, path, refused.body)
            assert refused.error["code"] == "FORBIDDEN_ACCOUNT_TYPE", (role, method, path)

    for role in ("buyer", "seller"):
        me = api.get("/profile", token=users[role]["token"]).data
        assert me["status"] == "active", role
        money = market.balance(users[role])
        assert (money["balance"], money["credit_limit"]) == ("0.00", "0.00"), role
    assert api.get("/compliance/dnc/%2B12125552671", token=admin).data["is_dnc"] is True
    assert api.get("/compliance/dnc/%2B13125550123", token=admin).data["is_dnc"] is False
    assert [r["state"] for r in api.get("/compliance/geographic/restrictions", token=admin).data] == ["NY"]
    assert api.get("/compliance/tcpa/hours", token=admin).data == hours
    market.books_hold()


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_refuses_the_account_types_it_does_not_list_and_serves_those_it_does(
        market, document, users, role):
    refused, served = [], []
    for method, path, op in operations(document):
        allowed = op.get("x-account-types")
        if not allowed or set(allowed) == set(ROLES):
            continue  # public, or for everyone (tested above and in API2)
        answer = attempt(market, users[role], method, path)
        forbidden = answer.status == 403 and answer.error["code"] == "FORBIDDEN_ACCOUNT_TYPE"
        if role in allowed:
            assert not forbidden, (role, method, path)
            served.append((method, path))
        else:
            assert forbidden, (role, method, path, answer.status, answer.body)
            refused.append((method, path))
    expected_refusals = {"buyer": {("POST", "/bids"), ("POST", "/bid-profiles"), ("GET", "/auctions")},
                         "seller": {("POST", "/calls"), ("POST", "/numbers/purchase"), ("POST", "/auctions")},
                         "admin": {("POST", "/bids"), ("DELETE", "/bids/{bid_id}")}}[role]
    assert expected_refusals <= set(refused) and served


def test_every_secured_operation_is_401_without_a_valid_token(market, document):
    for method, path, op in operations(document):
        if "security" not in op:
            continue
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
            answer = market.api.call(method, concrete(path, UNKNOWN), headers=headers)
            assert answer.status == 401 and answer.error["type"] == "AUTHENTICATION_ERROR", (method, path, headers)

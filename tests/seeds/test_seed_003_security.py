"""Seed 003, "Security Testing" (test/security/auth_security_test.go): authentication, role-based access, input
validation, rate limiting and data protection, over HTTP."""
from datetime import timedelta

import jwt
import pytest

from chalicelib import clock as product_clock
from chalicelib.config import get_settings
from chalicelib.domain.tokens import ALGORITHM
from chalicelib.persistence.tables import UserModel
from tests.helpers import registration
from tests.overrides import settings  # noqa: F401 - fixture  # pyflakes: ignore
from tests.seeds.helpers import SEED_CALLER, SEED_TOLL_FREE


# --- TestSecurity_Authentication -----------------------------------------------------------------------------

def resigned(token: str, secret: str, **changes) -> str:
    """A token with the claims of `token` (changed as given), signed with `secret`."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode({**claims, **changes}, secret, algorithm=ALGORITHM)


@pytest.mark.parametrize("name, expected_status", [
    ("missing token", 401), ("invalid format", 401), ("expired token", 401), ("invalid signature", 401),
    ("valid token", 200),
])
def test_security_authentication_jwt_token_validation(api, name, expected_status):
    """TestSecurity_Authentication / JWT Token Validation. The seed signs its own tokens with "test-secret";
    here the expired one is signed with the product's key (only the expiry is wrong) and the valid one is the
    token a login issues."""
    token = api.register("buyer")["token"]
    now = product_clock.now()
    tokens = {
        "missing token": None,
        "invalid format": "invalid-token",
        "expired token": resigned(token, get_settings().jwt_secret, exp=int((now - timedelta(hours=1)).timestamp()),
                                  iat=int((now - timedelta(hours=2)).timestamp())),
        "invalid signature": resigned(token, "wrong-secret-" + "0123456789abcdef" * 3),
        "valid token": token,
    }
    result = api.get("/profile", token=tokens[name])
    assert result.status == expected_status, result.body
    if expected_status == 401:
        assert result.error["type"] == "AUTHENTICATION_ERROR"


RBAC_ENDPOINTS = [  # (path, method, allowed roles, body)
    ("/bid-profiles", "POST", {"seller", "admin"}, {"criteria": {"max_budget": 100}}),
    ("/calls", "POST", {"buyer", "admin"}, {"from_number": SEED_CALLER, "to_number": SEED_TOLL_FREE}),
    ("/compliance/dnc", "POST", {"admin"}, {"phone_number": SEED_CALLER, "reason": "test"}),
    ("/admin/users", "GET", {"admin"}, None),
]


@pytest.mark.parametrize("role", ["buyer", "seller", "admin"])
@pytest.mark.parametrize("path, method, allowed, body", RBAC_ENDPOINTS, ids=[e[1] + e[0] for e in RBAC_ENDPOINTS])
def test_security_authentication_role_based_access_control(api, path, method, allowed, body, role):
    """TestSecurity_Authentication / Role-Based Access Control"""
    user = api.admin() if role == "admin" else api.register(role)
    result = api.call(method, path, body, token=user["token"])
    if role in allowed:
        assert result.status != 403 and result.status < 400, result.body
    else:
        assert result.status == 403 and result.error["type"] == "AUTHORIZATION_ERROR"


# --- TestSecurity_InputValidation ----------------------------------------------------------------------------

SQL_INJECTION_PAYLOADS = ["'; DROP TABLE calls; --", "1' OR '1'='1", "admin'--",
                          "1; UPDATE accounts SET balance = 999999"]


def test_security_input_validation_sql_injection_prevention(api):
    """TestSecurity_InputValidation / SQL Injection Prevention"""
    buyer = api.register("buyer", email="buyer@test.com")
    for payload in SQL_INJECTION_PAYLOADS:
        result = api.post("/calls", {"from_number": payload, "to_number": SEED_TOLL_FREE}, token=buyer["token"])
        assert result.status == 400 and "Invalid" in str(result.body), payload
        assert payload not in str(result.body)
    assert api.get("/calls", token=buyer["token"]).body["pagination"]["total"] == 0


XSS_PAYLOADS = ["<script>alert('XSS')</script>", "javascript:alert('XSS')", "<img src=x onerror=alert('XSS')>",
                "<iframe src='javascript:alert(\"XSS\")'></iframe>"]


def test_security_input_validation_xss_prevention(api):
    """TestSecurity_InputValidation / XSS Prevention. The seed's POST /accounts {company_name, type} is our
    registration {company, account_type}; markup is refused, and never echoed."""
    for payload in XSS_PAYLOADS:
        result = api.post("/auth/register", registration("buyer", email="test@example.com", company=payload))
        assert "<script>" not in str(result.body) and "javascript:" not in str(result.body), payload
        assert result.status == 400 and [d["field"] for d in result.error["details"]] == ["company"], payload
    assert UserModel.count() == 0


def test_security_input_validation_rate_limiting(api, settings):
    """TestSecurity_InputValidation / Rate Limiting (at the product's default limit per user, 100 a minute)"""
    settings(RATE_LIMIT_PER_MINUTE=100)
    buyer = api.register("buyer", email="buyer@test.com")
    hit = None
    for _ in range(200):
        result = api.get("/calls", token=buyer["token"])
        if result.status == 429:
            hit = result
            break
        assert result.status == 200
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(result.headers)
    assert hit is not None, "Rate limiting should be enforced"
    assert hit.error["type"] == "RATE_LIMITED" and int(hit.headers["retry-after"]) > 0


# --- TestSecurity_DataProtection -----------------------------------------------------------------------------

def test_security_data_protection_sensitive_data_masking(api):
    """TestSecurity_DataProtection / Sensitive Data Masking. The seed expects the card number masked
    ("****1111") in the answer. We keep no payment card data: a body with payment_info is refused, and no part
    of the card is echoed."""
    body = registration("buyer", email="sensitive@example.com", company="Test Corp",
                        payment_info={"card_number": "4111111111111111", "cvv": "123"})
    result = api.post("/auth/register", body)
    assert result.status == 400 and result.error["details"][0]["code"] == "EXTRA_FORBIDDEN"
    assert "4111111111111111" not in str(result.body) and "1111" not in str(result.body)
    assert UserModel.count() == 0

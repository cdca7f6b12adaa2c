"""The product as a user meets it: `make run`'s runtime over real HTTP."""
import uuid

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.e2e
PASSWORD = "Str0ng!Passw0rd"


def register(product, account_type="buyer") -> dict:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    response = product.call("POST", "/auth/register", json={
        "email": email, "password": PASSWORD, "first_name": "Grace", "last_name": "Hopper",
        "company": "Navy", "account_type": account_type, "accept_terms": True})
    assert response.status_code == 201, response.text
    return {**response.json()["data"], "email": email}


def test_health_reports_every_part(product):
    response = product.call("GET", "/health")
    assert response.status_code == 200
    assert response.json()["data"]["components"] == {"dynamodb": "ok", "sqs": "ok"}


def test_head_answers_as_get_does_without_a_body(product):
    """Over make run's HTTP server: GET's status and length, authentication as for GET, no body."""
    token = product.login(register(product)["email"], PASSWORD)["tokens"]["access_token"]
    for path, given, status in (("/health", None, 200), ("/profile", token, 200), ("/profile", None, 401),
                                ("/calls/" + str(uuid.uuid4()), token, 404)):
        head, get = product.call("HEAD", path, token=given), product.call("GET", path, token=given)
        assert (head.status_code, get.status_code) == (status, status), path
        assert head.content == b"" and head.headers["Content-Type"] == get.headers["Content-Type"], path
        assert head.headers["Content-Length"] == str(len(get.content)), path


def test_register_login_refresh_reuse_logout(product):
    user = register(product)
    session = product.login(user["email"], PASSWORD)
    access, refresh = session["tokens"]["access_token"], session["tokens"]["refresh_token"]
    assert product.call("GET", "/profile", token=access).json()["data"]["email"] == user["email"]

    rotated = product.call("POST", "/auth/refresh", json={"refresh_token": refresh})
    assert rotated.status_code == 200
    new_access = rotated.json()["data"]["access_token"]
    reused = product.call("POST", "/auth/refresh", json={"refresh_token": refresh})
    assert reused.status_code == 401 and reused.json()["error"]["code"] == "REFRESH_TOKEN_REUSED"
    assert product.call("GET", "/profile", token=new_access).status_code == 401  # family revoked

    fresh = product.login(user["email"], PASSWORD)["tokens"]
    logout = product.call("POST", "/auth/logout", token=fresh["access_token"],
                          json={"refresh_token": fresh["refresh_token"]})
    assert logout.status_code == 200
    assert product.call("GET", "/profile", token=fresh["access_token"]).status_code == 401


def test_admin_suspends_and_reactivates(product):
    user = register(product, "seller")
    admin = product.login(ADMIN_EMAIL, ADMIN_PASSWORD)["tokens"]["access_token"]
    user_id = user["user"]["id"]
    suspend = product.call("PUT", f"/admin/users/{user_id}/suspend", token=admin,
                           json={"reason": "Investigation", "duration_days": 3, "notify_user": True})
    assert suspend.status_code == 200
    blocked = product.call("POST", "/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "ACCOUNT_SUSPENDED"

    assert product.call("PUT", f"/admin/users/{user_id}/reactivate", token=admin).status_code == 200
    token = product.login(user["email"], PASSWORD)["tokens"]["access_token"]
    # notify_user went through SQS and the dispatcher to the notifications worker.
    inbox = wait_for(lambda: product.call("GET", "/notifications", token=token).json()["data"])
    assert inbox[0]["kind"] == "account_suspended" and "Investigation" in inbox[0]["message"]


def test_admin_credit_shows_on_the_users_balance(product):
    user = register(product)
    admin = product.login(ADMIN_EMAIL, ADMIN_PASSWORD)["tokens"]["access_token"]
    credit = product.call("POST", f"/admin/users/{user['user']['id']}/credits", token=admin,
                          json={"amount": "40.00", "reason": "Trial credit"}, headers={"Idempotency-Key": "t1"})
    assert credit.status_code == 201
    balance = product.call("GET", "/account/balance", token=user["tokens"]["access_token"]).json()["data"]
    assert balance["balance"] == "40.00"


def wait_for(probe, bound_seconds: float = 60):
    """Poll (bounded) for work the dispatcher does in the background; no fixed sleeps. The bound only
    caps a failing test: a passing one returns as soon as the probe does."""
    import time

    deadline = time.monotonic() + bound_seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {bound_seconds} s")
        time.sleep(0.05)  # the polling interval

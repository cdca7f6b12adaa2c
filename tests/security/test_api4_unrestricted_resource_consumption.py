"""OWASP API4:2023 Unrestricted Resource Consumption: every user, and every address on the unauthenticated
identity routes, has a rate limit counted in DynamoDB (exact however many containers serve it: real threads
against a moto server), announced on every limited answer and enforced with 429 RATE_LIMITED and Retry-After;
a limited request costs one more DynamoDB write, no more."""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from pynamodb.connection.base import Connection

from tests.api.test_exchange_concurrency import moto_server  # noqa: F401 - fixture
from tests.helpers import registration
from tests.overrides import settings  # noqa: F401 - fixture


@pytest.fixture
def dynamodb_calls(monkeypatch):
    """DynamoDB operations the app makes, by name."""
    made: Counter = Counter()
    original = Connection._make_api_call

    def counting(self, operation, kwargs, *args, **more):
        made[operation] += 1
        return original(self, operation, kwargs, *args, **more)

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    return made


def test_a_user_gets_the_limit_then_429_with_retry_after(api, settings, clock):
    settings(RATE_LIMIT_PER_MINUTE=5)
    user = api.register()
    clock.advance(seconds=60 - clock().second)  # a fresh window
    answers = [api.get("/profile", token=user["token"]) for _ in range(6)]
    assert [a.status for a in answers] == [200] * 5 + [429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["4", "3", "2", "1", "0", "0"]
    assert {a.headers["x-ratelimit-limit"] for a in answers} == {"5"}
    reset = int(clock().timestamp()) + 60
    assert {int(a.headers["x-ratelimit-reset"]) for a in answers} == {reset}
    refused = answers[-1]
    assert refused.error["type"] == "RATE_LIMITED" and refused.error["code"] == "RATE_LIMITED"
    assert int(refused.headers["retry-after"]) == 60 and refused.headers["x-request-id"]
    # Every route of the user shares the limit; another user has their own.
    assert api.get("/calls", token=user["token"]).status == 429
    assert api.get("/profile", token=api.register()["token"]).status == 200
    clock.advance(seconds=60)
    assert api.get("/profile", token=user["token"]).status == 200


def test_errors_of_a_counted_request_carry_the_headers_too(api, settings):
    settings(RATE_LIMIT_PER_MINUTE=50)
    user = api.register()
    missing = api.get("/calls/00000000-0000-4000-8000-000000000000", token=user["token"])
    assert missing.status == 404 and missing.headers["x-ratelimit-limit"] == "50"


def test_seed_003_many_rapid_requests_meet_a_429_within_200(api, settings):
    settings(RATE_LIMIT_PER_MINUTE=100)
    user = api.register()
    statuses = []
    for _ in range(200):
        statuses.append(api.get("/calls", token=user["token"]).status)
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429 and len(statuses) == 101


def test_unauthenticated_identity_routes_are_limited_per_client_address(api, settings, from_ip):
    settings(AUTH_RATE_LIMIT_PER_MINUTE=3)
    from_ip("198.51.100.7")
    answers = [api.post("/auth/register", registration()) for _ in range(3)]
    assert [a.status for a in answers] == [201] * 3 and answers[0].headers["x-ratelimit-limit"] == "3"
    for path, body in (("/auth/register", registration()), ("/auth/login", {"email": "a@example.com", "password": "x"}),
                       ("/auth/refresh", {"refresh_token": "x"}), ("/auth/forgot-password", {"email": "a@example.com"}),
                       ("/auth/reset-password", {"token": "t" * 43, "new_password": "N3w!Passw0rd"})):
        refused = api.post(path, body)
        assert refused.status == 429 and refused.error["code"] == "RATE_LIMITED", path
        assert int(refused.headers["retry-after"]) > 0
    # A header the client writes does not change who it is.
    assert api.post("/auth/register", registration(), headers={"X-Forwarded-For": "203.0.113.99"}).status == 429
    from_ip("203.0.113.99")  # API Gateway's sourceIp: another address
    assert api.post("/auth/register", registration()).status == 201


def test_number_search_and_purchases_have_their_own_limits(api, settings):
    settings(NUMBER_SEARCH_RATE_LIMIT_PER_MINUTE=2, PURCHASE_RATE_LIMIT_PER_MINUTE=1)
    buyer = api.register()
    searches = [api.get("/numbers/search?country_code=US&limit=1", token=buyer["token"]) for _ in range(3)]
    assert [s.status for s in searches] == [200, 200, 429]
    assert searches[0].headers["x-ratelimit-limit"] == "2"
    body = {"numbers": [{"phone_number": "+14155550100", "friendly_name": "Main"}]}
    purchases = [api.post("/numbers/purchase", body, token=buyer["token"]) for _ in range(2)]
    assert purchases[0].status != 429 and purchases[0].headers["x-ratelimit-limit"] == "1"
    assert purchases[1].status == 429
    assert api.get("/profile", token=buyer["token"]).status == 200  # the user's own limit is not spent


def test_twilio_webhooks_are_not_limited(api, settings):
    settings(AUTH_RATE_LIMIT_PER_MINUTE=1, RATE_LIMIT_PER_MINUTE=1)
    for _ in range(5):
        response = api.client.http.request("POST", "/api/v1/webhooks/twilio/voice", body="CallSid=CA1",
                                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 403  # the signature is what guards them
        assert "x-ratelimit-limit" not in {k.lower() for k in response.headers}


def test_a_limited_request_costs_one_dynamodb_write(api, dynamodb_calls):
    user = api.register()
    api.get("/profile", token=user["token"])
    dynamodb_calls.clear()
    assert api.get("/profile", token=user["token"]).status == 200
    assert dynamodb_calls == Counter({"TransactGetItems": 1, "UpdateItem": 1})  # authentication + the count
    dynamodb_calls.clear()
    api.post("/auth/refresh", {"refresh_token": user["tokens"]["refresh_token"]})
    assert dynamodb_calls["UpdateItem"] == 2  # the count, and the rotation the route always wrote


def test_the_limit_is_exact_across_concurrent_containers(moto_server, settings):
    """20 requests at once, from threads sharing nothing but DynamoDB: exactly the limit pass."""
    from chalicelib.domain.errors import RateLimited
    from chalicelib.domain.limits import USER
    from chalicelib.services import rate_limits

    settings(RATE_LIMIT_PER_MINUTE=7)
    start = threading.Barrier(20)

    def request(_):
        start.wait()
        try:
            return rate_limits.check(USER, "user-1").headers()["X-RateLimit-Remaining"]
        except RateLimited:
            return "429"

    with ThreadPoolExecutor(20) as pool:
        outcomes = Counter(pool.map(request, range(20)))
    assert outcomes["429"] == 13
    assert sorted(k for k in outcomes if k != "429") == ["0", "1", "2", "3", "4", "5", "6"]


def test_reset_mails_to_one_address_are_bounded(api, from_ip):
    from tests.mailbox import mail_count

    user = api.register()
    before = mail_count(user["email"])
    for n in range(6):
        from_ip(f"192.0.2.{n}")  # from many addresses: the per-address limit is not what stops it
        assert api.post("/auth/forgot-password", {"email": user["email"]}).status == 202
    assert mail_count(user["email"]) - before == 3

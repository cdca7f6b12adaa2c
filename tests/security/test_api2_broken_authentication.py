"""OWASP API2:2023 Broken Authentication: password guessing cannot outrun the login throttle (real threads
against a moto server, each request atomic as DynamoDB's are), an attacker cannot lock the owner out from
elsewhere, tokens live no longer than we issue them for, and reset links are single use and short lived."""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import jwt
import pytest

from chalicelib.domain.errors import AuthenticationFailed, RateLimited
from chalicelib.services import accounts, sessions
from tests.api.test_exchange_concurrency import moto_server  # noqa: F401 - fixture
from tests.helpers import PASSWORD
from tests.mailbox import mailed_token
from tests.overrides import settings  # noqa: F401 - fixture

WRONG = "Wr0ng!Password"
ATTACKER, OWNER = "198.51.100.66", "203.0.113.10"


@pytest.fixture
def password_checks(monkeypatch):
    """How many passwords login compares against a hash (argon2's work), counted across threads."""
    checks, lock = Counter(), threading.Lock()
    original = sessions.verify_password

    def counted(password_hash, password):
        with lock:
            checks["made"] += 1
        return original(password_hash, password)

    monkeypatch.setattr(sessions, "verify_password", counted)
    return checks


def _registered(email: str) -> None:
    accounts.register(email, PASSWORD, "Ada", "Lovelace", None, "buyer")


def _attempt(email: str, password: str, ip: str = ATTACKER) -> str:
    try:
        sessions.login(email, password, client_ip=ip)
        return "ok"
    except RateLimited:
        return "429"
    except AuthenticationFailed:
        return "401"


def _in_parallel(attempts: list[tuple]) -> Counter:
    start = threading.Barrier(len(attempts))

    def run(args):
        start.wait()
        return _attempt(*args)

    with ThreadPoolExecutor(len(attempts)) as pool:
        return Counter(pool.map(run, attempts))


def test_forty_parallel_wrong_logins_make_at_most_five_password_checks(moto_server, password_checks):
    _registered("race@example.com")
    outcomes = _in_parallel([("race@example.com", WRONG)] * 40)
    assert password_checks["made"] <= 5
    assert outcomes["401"] == password_checks["made"] and outcomes["429"] == 40 - outcomes["401"]


def test_the_right_password_cannot_slip_through_the_race(moto_server, password_checks):
    _registered("slip@example.com")
    outcomes = _in_parallel([("slip@example.com", WRONG)] * 39 + [("slip@example.com", PASSWORD)])
    assert outcomes["401"] <= 5  # never more failed checks than the limit, whatever the order
    assert outcomes["ok"] <= 1 and outcomes["401"] + outcomes["ok"] + outcomes["429"] == 40
    # Once five checks have failed, the right password is refused too, even at the same instant as others.
    for _ in range(5 - outcomes["401"]):
        _attempt("slip@example.com", WRONG)
    after = _in_parallel([("slip@example.com", PASSWORD)] + [("slip@example.com", WRONG)] * 9)
    assert after == Counter({"429": 10})


def test_an_attackers_failures_do_not_lock_the_owner_out_from_elsewhere(client, clock):
    _registered("victim@example.com")
    assert [_attempt("victim@example.com", WRONG) for _ in range(6)] == ["401"] * 5 + ["429"]
    assert _attempt("victim@example.com", PASSWORD, ATTACKER) == "429"  # the attacker's address is blocked
    assert _attempt("victim@example.com", PASSWORD, OWNER) == "ok"  # the owner's is not


def test_many_addresses_meet_a_looser_ceiling_per_email(client, settings):
    settings(LOGIN_MAX_FAILURES_PER_EMAIL=8)
    _registered("spread@example.com")
    outcomes = [_attempt("spread@example.com", WRONG, f"192.0.2.{n // 4}") for n in range(12)]
    assert outcomes == ["401"] * 8 + ["429"] * 4  # 4 from each address, 8 from all of them together
    assert _attempt("spread@example.com", PASSWORD, "192.0.2.200") == "429"


def test_a_successful_login_gives_its_attempt_back(client):
    _registered("regular@example.com")
    assert [_attempt("regular@example.com", PASSWORD) for _ in range(8)] == ["ok"] * 8


def test_the_throttle_ends_with_its_window(client, clock):
    _registered("patient@example.com")
    for _ in range(5):
        _attempt("patient@example.com", WRONG)
    assert _attempt("patient@example.com", PASSWORD) == "429"
    clock.advance(minutes=15)
    assert _attempt("patient@example.com", PASSWORD) == "ok"


def test_the_http_throttle_says_when_to_retry(api):
    user = api.register()
    for _ in range(5):
        assert api.post("/auth/login", {"email": user["email"], "password": WRONG}).status == 401
    blocked = api.post("/auth/login", {"email": user["email"], "password": PASSWORD})
    assert blocked.status == 429 and blocked.error["type"] == "RATE_LIMITED"
    assert 0 < int(blocked.headers["retry-after"]) <= 900


def _forged(user_id: str, session_id: str, now, lifetime: timedelta) -> str:
    from chalicelib.config import get_settings

    s = get_settings()
    return jwt.encode({"iss": s.jwt_issuer, "aud": s.jwt_audience, "sub": user_id, "typ": "access", "acct": "buyer",
                       "sid": session_id, "iat": now, "nbf": now, "exp": now + lifetime, "jti": "x"},
                      s.jwt_secret, algorithm="HS256")


def test_a_token_that_lives_longer_than_we_issue_tokens_for_is_refused(api, clock):
    user = api.register()
    session_id = user["tokens"]["refresh_token"].split(".")[0]
    ten_years = _forged(user["user"]["id"], session_id, clock(), timedelta(days=3650))
    refused = api.get("/profile", token=ten_years)
    assert refused.status == 401 and refused.error["code"] == "INVALID_TOKEN"
    assert api.get("/profile", token=_forged(user["user"]["id"], session_id, clock(), timedelta(minutes=15))).status == 200


def test_a_reset_token_is_single_use_and_expires_within_the_hour(api, clock):
    user = api.register()
    api.post("/auth/forgot-password", {"email": user["email"]})
    token = mailed_token(user["email"], "reset-password")
    assert api.post("/auth/reset-password", {"token": token, "new_password": "N3w!Passw0rd-1"}).status == 200
    assert api.post("/auth/reset-password", {"token": token, "new_password": "N3w!Passw0rd-2"}).status == 400
    api.post("/auth/forgot-password", {"email": user["email"]})
    late = mailed_token(user["email"], "reset-password")
    clock.advance(minutes=59, seconds=59)
    clock.advance(seconds=1)
    assert api.post("/auth/reset-password", {"token": late, "new_password": "N3w!Passw0rd-3"}).status == 400
    assert api.post("/auth/login", {"email": user["email"], "password": "N3w!Passw0rd-1"}).status == 200


def test_reset_tokens_race_to_one_use(moto_server):
    _registered("twice@example.com")
    accounts.forgot_password("twice@example.com")
    token = mailed_token("twice@example.com", "reset-password")
    start = threading.Barrier(8)

    def use(n):
        start.wait()
        try:
            accounts.reset_password(token, f"N3w!Passw0rd-{n}")
            return n
        except Exception as error:  # noqa: BLE001 - any refusal counts as not used
            return type(error).__name__

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(use, range(8)))
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1 and set(results) - set(winners) <= {"ValidationFailed", "Conflict"}
    assert _attempt("twice@example.com", f"N3w!Passw0rd-{winners[0]}", OWNER) == "ok"


def test_forgot_password_does_not_say_who_has_an_account(api):
    user = api.register()
    answers = [api.post("/auth/forgot-password", {"email": email}) for email in (user["email"], "ghost@example.com")]
    assert {a.status for a in answers} == {202} and answers[0].body == answers[1].body

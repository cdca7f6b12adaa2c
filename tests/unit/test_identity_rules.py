import warnings
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from chalicelib.config import Settings
from chalicelib.domain import tokens
from chalicelib.domain.accounts import ACTIVE, DEACTIVATED, SUSPENDED, effective_status, ensure_may_act
from chalicelib.domain.errors import AuthenticationFailed, Forbidden
from chalicelib.domain.passwords import hash_password, policy_problem, verify_password

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
# The JWT secret is not a field: it is the environment's (JWT_SECRET, tests/conftest.py), read on each use.
SETTINGS = Settings(stage="test", resource_prefix="t-", jwt_issuer="iss", jwt_audience="aud",
                    access_token_ttl_seconds=900, refresh_token_ttl_seconds=3600)
CLAIMS = tokens.AccessClaims("user-1", "buyer", "session-1")


@pytest.mark.parametrize("password", ["short1!", "alllowercase1!", "ALLUPPERCASE1!", "NoDigits!!", "NoSpecial123"])
def test_weak_passwords_are_refused_with_a_reason(password):
    assert policy_problem(password)


def test_strong_password_passes_and_verifies():
    assert policy_problem("Str0ng!Passw0rd") is None
    hashed = hash_password("Str0ng!Passw0rd")
    assert hashed.startswith("$argon2id$") and "Str0ng" not in hashed
    assert verify_password(hashed, "Str0ng!Passw0rd")
    assert not verify_password(hashed, "str0ng!Passw0rd")


def test_unknown_user_never_verifies():
    assert verify_password(None, "decoy-Password-1!") is False


def test_access_token_round_trip():
    token = tokens.issue_access_token(SETTINGS, CLAIMS, NOW)
    assert tokens.verify_access_token(SETTINGS, token, NOW + timedelta(minutes=14)) == CLAIMS


def test_access_token_lives_fifteen_minutes():
    token = tokens.issue_access_token(SETTINGS, CLAIMS, NOW)
    with pytest.raises(AuthenticationFailed):
        tokens.verify_access_token(SETTINGS, token, NOW + timedelta(seconds=900))


def _forge(payload: dict, secret: str = SETTINGS.jwt_secret, algorithm: str = "HS256") -> str:
    base = {"iss": "iss", "aud": "aud", "sub": "user-1", "typ": "access", "acct": "buyer", "sid": "s",
            "iat": NOW, "nbf": NOW, "exp": NOW + timedelta(minutes=5), "jti": "j"}
    base.update(payload)
    with warnings.catch_warnings():  # an HS512 forgery with our (HS256-sized) key: PyJWT's length advice
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode({k: v for k, v in base.items() if v is not None}, secret, algorithm=algorithm)


@pytest.mark.parametrize("token", [
    _forge({}, secret="wrong-secret-0123456789abcdef0123456789"),
    _forge({"aud": "other"}),
    _forge({"iss": "other"}),
    _forge({"typ": "refresh"}),
    _forge({"jti": None}),
    _forge({"sid": None}),
    _forge({"nbf": NOW + timedelta(minutes=1)}),
    _forge({}, algorithm="HS512"),
    jwt.encode({"sub": "user-1"}, None, algorithm="none"),
    "not-a-jwt",
])
def test_forged_or_incomplete_tokens_are_refused(token):
    with pytest.raises(AuthenticationFailed):
        tokens.verify_access_token(SETTINGS, token, NOW)


def test_refresh_token_format():
    session_id = "6f1c1d8e-3c7b-4b8e-9a3a-1d2e3f4a5b6c"
    assert tokens.parse_refresh_token(tokens.format_refresh_token(session_id, "s3cret")) == (session_id, "s3cret")
    for bad in ("garbage", "not-a-uuid.secret", f"{session_id}."):
        with pytest.raises(AuthenticationFailed):
            tokens.parse_refresh_token(bad)


def test_timed_suspension_ends_by_itself():
    assert effective_status(SUSPENDED, NOW, NOW) == ACTIVE
    assert effective_status(SUSPENDED, NOW + timedelta(seconds=1), NOW) == SUSPENDED
    assert effective_status(SUSPENDED, None, NOW) == SUSPENDED


def test_only_active_accounts_may_act():
    ensure_may_act(ACTIVE)
    for status in (SUSPENDED, DEACTIVATED):
        with pytest.raises(Forbidden):
            ensure_may_act(status)


@pytest.mark.parametrize("text", [
    "Ada\tLovelace", "Ada\nLovelace", "Ada\r", "Ada\x00", "Ada\x85", "evil\u202etxt.exe", "Ad\u200ba",
    "Ada\u2028Lovelace", "Ada\u2029", "\ufeffAda", "Ada\u2066", "tag\U000e0041",
    "<b>", "JavaScript:alert(1)", "&#60;", "&lt;",
])
def test_safe_text_refuses_controls_invisible_formatting_and_markup_as_documented(text):
    import re

    from pydantic import TypeAdapter, ValidationError

    from chalicelib.schemas.common import SafeText, plain_text_pattern

    with pytest.raises(ValidationError):
        TypeAdapter(SafeText(100)).validate_python(text)
    assert re.search(plain_text_pattern(), text) is None  # the OpenAPI pattern promises no less


@pytest.mark.parametrize("text", ["Ada Lovelace", "  Zoë O'Brien-Łukasz ", "Analytical Engines & Co", "東京 🚀"])
def test_safe_text_accepts_what_people_type_and_the_pattern_agrees(text):
    import re

    from pydantic import TypeAdapter

    from chalicelib.schemas.common import SafeText, plain_text_pattern

    assert TypeAdapter(SafeText(100)).validate_python(text) == text.strip()
    assert re.search(plain_text_pattern(), text)


@pytest.mark.parametrize("password", ["Ääääää1!", "Élodie#2024", "Passwört1ß!"])
def test_password_policy_counts_letters_beyond_ascii(password):
    assert policy_problem(password) is None


@pytest.mark.parametrize("password, missing", [
    ("ääääää1!", "an uppercase letter"), ("ÄÄÄÄÄÄ1!", "a lowercase letter"), ("Ääääää!!", "a digit"),
    ("Ääääää12", "a special character"),
])
def test_password_policy_names_what_unicode_passwords_lack(password, missing):
    assert missing in (policy_problem(password) or "")


@pytest.mark.parametrize("password", ["Str0ng!Passw0rd", "Aaaaaa1é", "Aaaaaa1 ", "aaaaaa1!", "Ab1~Ab1~", "Ä" * 8])
def test_the_documented_password_pattern_promises_nothing_the_policy_refuses(password):
    import re

    from chalicelib.domain.passwords import POLICY_PATTERN

    if re.search(POLICY_PATTERN, password):
        assert policy_problem(password) is None


def test_an_access_token_issued_in_the_future_is_refused():
    # nbf in the past does not excuse an iat from the future (a token minted with a skewed or forged clock)
    early_nbf = NOW - timedelta(minutes=1)
    with pytest.raises(AuthenticationFailed):
        tokens.verify_access_token(SETTINGS, _forge({"iat": NOW + timedelta(minutes=2), "nbf": early_nbf}), NOW)
    with pytest.raises(AuthenticationFailed):
        tokens.verify_access_token(SETTINGS, _forge({"iat": NOW + timedelta(seconds=31), "nbf": early_nbf}), NOW)
    within_leeway = _forge({"iat": NOW + timedelta(seconds=30), "nbf": early_nbf})
    assert tokens.verify_access_token(SETTINGS, within_leeway, NOW).user_id == "user-1"


@pytest.mark.parametrize("stage, secret, ok", [
    ("prod", "x" * 31, False), ("prod", "short", False), ("prod", "x" * 32, True),
    ("prod", "é" * 16, True),  # bytes, not characters
    ("dev", "short", True),
])
def test_prod_needs_a_jwt_secret_of_at_least_32_bytes(monkeypatch, stage, secret, ok):
    from chalicelib import secret_store

    monkeypatch.setenv("JWT_SECRET", secret)
    if ok:
        assert secret_store.jwt_secret(stage) == secret
    else:
        with pytest.raises(RuntimeError, match="32 bytes"):
            secret_store.jwt_secret(stage)

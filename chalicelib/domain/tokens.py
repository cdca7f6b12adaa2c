"""Access tokens (short-lived JWT) and refresh tokens (opaque, stored only as a hash)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import jwt

from chalicelib.domain.errors import AuthenticationFailed

if TYPE_CHECKING:
    from chalicelib.config import Settings

ALGORITHM = "HS256"
ACCESS = "access"
IAT_LEEWAY_SECONDS = 30  # clock skew between issuers; a token from further in the future is refused
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "nbf", "jti", "sub", "typ", "sid"]


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    account_type: str
    session_id: str
    expires_at: float = field(default=0, compare=False)  # its "exp" (epoch seconds), once verified


def issue_access_token(settings: Settings, claims: AccessClaims, now: datetime) -> str:
    payload = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": claims.user_id,
        "typ": ACCESS,
        "acct": claims.account_type,
        "sid": claims.session_id,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=settings.access_token_ttl_seconds),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm=ALGORITHM)


def verify_access_token(settings: Settings, token: str, now: datetime) -> AccessClaims:
    invalid = AuthenticationFailed("Invalid or expired access token", code="INVALID_TOKEN")
    try:
        payload = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],  # pinned: no "none", no key confusion
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            # Times are checked below against the injectable clock, not pyjwt's wall clock.
            options={"require": _REQUIRED_CLAIMS, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        raise invalid from None
    try:
        timestamp = now.timestamp()
        if payload["typ"] != ACCESS or not (payload["nbf"] <= timestamp < payload["exp"]):
            raise invalid
        if not isinstance(payload["iat"], (int, float)) or payload["iat"] > timestamp + IAT_LEEWAY_SECONDS:
            raise invalid
        # Signed with our key but made to live longer than we issue tokens for (a leaked key, a bug, an old
        # issuer): refused, whatever its exp says.
        if payload["exp"] - payload["iat"] > settings.access_token_ttl_seconds:
            raise invalid
        return AccessClaims(str(payload["sub"]), str(payload["acct"]), str(payload["sid"]), float(payload["exp"]))
    except (KeyError, TypeError, ValueError):
        raise invalid from None


# A refresh token is "<session_id>.<secret>": the id finds the session, the secret proves possession.
def new_refresh_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    # 256 random bits need no slow hash; SHA-256 keeps a stolen table useless.
    return hashlib.sha256(secret.encode()).hexdigest()


def format_refresh_token(session_id: str, secret: str) -> str:
    return f"{session_id}.{secret}"


def parse_refresh_token(token: str) -> tuple[str, str]:
    session_id, _, secret = token.partition(".")
    try:
        uuid.UUID(session_id)
    except ValueError:
        raise AuthenticationFailed("Invalid refresh token", code="INVALID_REFRESH_TOKEN") from None
    if not secret:
        raise AuthenticationFailed("Invalid refresh token", code="INVALID_REFRESH_TOKEN")
    return session_id, secret


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)

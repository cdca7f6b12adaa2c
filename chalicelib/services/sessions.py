"""Sessions: login, refresh-token rotation, logout, and the authentication every request runs (a valid
access token, a live session, an account allowed to act)."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactGet

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.config import get_settings
from chalicelib.domain import limits, tokens
from chalicelib.domain.accounts import effective_status, ensure_may_act
from chalicelib.domain.errors import AuthenticationFailed, DomainError, RateLimited
from chalicelib.domain.passwords import verify_password
from chalicelib.persistence import rate_counters
from chalicelib.persistence.db import connection
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_conditions, failed_items
from chalicelib.persistence.tables import EmailClaimModel, SessionModel, UserModel
from chalicelib.services import events
from chalicelib.services.rate_limits import subject_of_ip

REUSE_MEMORY = 50  # rotated-away token hashes remembered per session for reuse detection


@dataclass
class Issued:
    user: UserModel
    access_token: str
    refresh_token: str
    expires_in: int

    def as_auth(self) -> dict:
        return {"user": self.user, "tokens": self.tokens()}

    def tokens(self) -> dict:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "token_type": "Bearer", "expires_in": self.expires_in}


def login(email: str, password: str, device_info: dict | None = None, client_ip: str | None = None) -> Issued:
    """`device_info` (what the client says about itself) is kept on the new session. A password check is
    reserved before it is made (login_attempt), so parallel guesses cannot outrun the count."""
    now = clock.now()
    reserved = reserve_password_check(email_digest(email), subject_of_ip(client_ip), now)
    user = user_by_email(email)
    # verify_password does the same work when the user is unknown: timing reveals nothing.
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise AuthenticationFailed("Invalid email or password", code="INVALID_CREDENTIALS")
    rate_counters.release(reserved)  # the right password: the attempt does not count against anyone
    ensure_may_act(effective_status(user.status, user.suspended_until, now))
    user.update(actions=[UserModel.last_login_at.set(now)])
    return start_session(user, now, device_info)


def email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()  # no plain emails in the counters


def reserve_password_check(who: str, where: str, now: datetime) -> list[str]:
    """Reserves one password check of `who` (an email's digest, or a user) from `where` (a client's digest),
    atomically and before the check: conditional increments of the count from this client (at most
    login_max_failures) and of the count from every client (login_max_failures_per_email, looser, so an
    attacker's failures from one address do not lock the owner out from another). Failed checks keep their
    reservation for the window; a successful one gives it back (rate_counters.release)."""
    settings = get_settings()
    window = limits.window(now, settings.login_window_seconds)
    keys = {f"login#{who}#{where}#{window.start}": settings.login_max_failures,
            f"login#{who}#*#{window.start}": settings.login_max_failures_per_email}
    if rate_counters.reserve(keys, window.purge_at) is not None:
        raise RateLimited("Too many failed login attempts; try again later", code="TOO_MANY_LOGIN_ATTEMPTS",
                          headers={"Retry-After": str(window.retry_after(now))})
    return list(keys)


def user_by_email(email: str) -> UserModel | None:
    key = email.strip().lower()
    if not key:  # blank once trimmed (control characters): nobody has it, and DynamoDB keys are never empty
        return None
    try:
        claim = EmailClaimModel.get(key)
        return UserModel.get(claim.user_id, consistent_read=True)
    except (EmailClaimModel.DoesNotExist, UserModel.DoesNotExist):
        return None


SESSION_ATTEMPTS = 20


def start_session(user: UserModel, now: datetime, device_info: dict | None = None) -> Issued:
    keep = get_settings().max_active_sessions - 1
    for _ in range(SESSION_ATTEMPTS):
        # Of concurrent logins one commits the list it read; the others read it again.
        listed = session_ids(user.user_id)
        live = live_sessions(listed, now)
        evicted = live[: max(0, len(live) - keep)]
        session, secret = new_session(user.user_id, now, device_info)
        ids = [s.session_id for s in live[len(evicted):]] + [session.session_id]
        try:
            with UnitOfWork() as work:
                work.update(user, actions=[UserModel.session_ids.set(ids)], condition=UserModel.session_ids == listed)
                work.save(session, condition=SessionModel.session_id.does_not_exist())
                for old in evicted:
                    work.update(old, actions=[SessionModel.revoked.set(True),
                                              SessionModel.revoked_reason.set("session_limit")])
                    events.close_session_connections(work, user.user_id, old.session_id)  # its sockets too
        except TransactWriteError as error:
            if any(failed_conditions(error)):
                continue  # another login changed the list first: read it again
            raise
        return issue(user, session, secret, now)
    raise DomainError("Too many simultaneous logins; please try again")


def session_ids(user_id: str) -> list[str]:
    return UserModel.get(user_id, consistent_read=True, attributes_to_get=["session_ids"]).session_ids or []


def live_sessions(session_ids: list[str], now: datetime) -> list[SessionModel]:
    """Of these sessions, the ones neither revoked nor expired, oldest first (consistent reads)."""
    live = []
    for session_id in session_ids:
        try:
            session = SessionModel.get(session_id, consistent_read=True)
        except SessionModel.DoesNotExist:
            continue
        if not session.revoked and session.expires_at > now:
            live.append(session)
    return sorted(live, key=lambda s: (s.created_at, s.session_id))


def new_session(user_id: str, now: datetime, device_info: dict | None = None) -> tuple[SessionModel, str]:
    """A session not yet written, and the refresh secret only its holder will know."""
    secret = tokens.new_refresh_secret()
    expires_at = now + timedelta(seconds=get_settings().refresh_token_ttl_seconds)
    session = SessionModel(
        session_id=str(uuid.uuid4()), user_id=user_id, token_hash=tokens.hash_secret(secret),
        created_at=now, last_used_at=now, expires_at=expires_at, purge_at=expires_at + timedelta(days=7),
        device_info=device_info,
    )
    return session, secret


def issue(user: UserModel, session: SessionModel, secret: str, now: datetime) -> Issued:
    settings = get_settings()
    access = tokens.issue_access_token(
        settings, tokens.AccessClaims(user.user_id, user.account_type, session.session_id), now)
    return Issued(user, access, tokens.format_refresh_token(session.session_id, secret),
                  settings.access_token_ttl_seconds)


def active_sessions(user_id: str, now: datetime) -> list[SessionModel]:
    """Oldest first, from the user's list (read consistently: a session created a moment ago is in it)."""
    return live_sessions(session_ids(user_id), now)


def revoke(session: SessionModel, reason: str) -> bool:
    """Ends a session (False when it had ended already), and with it the sockets opened with it: their closing
    is owed by the same commit."""
    try:
        with UnitOfWork() as work:
            work.update(session, actions=[SessionModel.revoked.set(True), SessionModel.revoked_reason.set(reason)],
                        condition=SessionModel.revoked == False)  # noqa: E712 - a DynamoDB condition
            events.close_session_connections(work, session.user_id, session.session_id)
            work.assign(session, {"revoked": True, "revoked_reason": reason})
    except TransactWriteError as error:
        if session in failed_items(error):
            return False
        raise
    return True


def refresh(refresh_token: str) -> Issued:
    """Rotate: the presented token dies, a new one is issued. Presenting a rotated-away token again
    means it was copied, so the whole session (every token rotated from that login) is revoked."""
    now = clock.now()
    session_id, secret = tokens.parse_refresh_token(refresh_token)
    presented = tokens.hash_secret(secret)
    invalid = AuthenticationFailed("Invalid refresh token", code="INVALID_REFRESH_TOKEN")
    try:
        session = SessionModel.get(session_id, consistent_read=True)
    except SessionModel.DoesNotExist:
        raise invalid from None
    if session.revoked:
        raise AuthenticationFailed("Session has been revoked", code="SESSION_REVOKED")
    if presented in session.previous_hashes:
        revoke(session, "refresh_token_reuse")
        raise AuthenticationFailed("Refresh token was already used; the session has been revoked",
                                   code="REFRESH_TOKEN_REUSED")
    if not tokens.same_hash(presented, session.token_hash):
        raise invalid
    if session.expires_at <= now:
        raise AuthenticationFailed("Refresh token has expired", code="REFRESH_TOKEN_EXPIRED")
    user = get_user(session.user_id)
    ensure_may_act(effective_status(user.status, user.suspended_until, now))

    new_secret = tokens.new_refresh_secret()
    try:
        session.update(
            actions=[
                SessionModel.token_hash.set(tokens.hash_secret(new_secret)),
                SessionModel.previous_hashes.set((session.previous_hashes + [presented])[-REUSE_MEMORY:]),
                SessionModel.generation.add(1),
                SessionModel.last_used_at.set(now),
            ],
            # Only one of two concurrent refreshes with the same token can pass this.
            condition=(SessionModel.token_hash == presented) & (SessionModel.revoked == False),  # noqa: E712
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        # Someone else rotated this token first: the same token used twice is reuse.
        revoke(session, "refresh_token_reuse")
        raise AuthenticationFailed("Refresh token was already used; the session has been revoked",
                                   code="REFRESH_TOKEN_REUSED") from None
    return issue(user, session, new_secret, now)


def logout(principal: Principal, refresh_token: str | None, all_devices: bool) -> int:
    """Revoke this session (or the one the refresh token names), or every session of the user.
    Access tokens die with their session: authenticate() checks it on every request."""
    if all_devices:
        return revoke_all_sessions(principal.user_id, "logout_all")
    session_id = principal.session_id
    if refresh_token:
        session_id, _ = tokens.parse_refresh_token(refresh_token)
    try:
        session = SessionModel.get(session_id, consistent_read=True)
    except SessionModel.DoesNotExist:
        return 0
    if session.user_id != principal.user_id:
        return 0  # not theirs: say nothing about it
    return int(revoke(session, "logout"))


def revoke_all_sessions(user_id: str, reason: str) -> int:
    """Every live session (and its sockets), then every socket of the user whatever its session (suspension,
    deactivation, a password reset, logout everywhere)."""
    revoked = sum(revoke(s, reason) for s in active_sessions(user_id, clock.now()))
    with UnitOfWork() as work:
        events.close_user_connections(work, user_id)
    return revoked


def authenticate(access_token: str) -> Principal:
    """Every authenticated request: a valid token, a live session, an account allowed to act.
    User and session are read in one round trip, so suspension and logout apply at once."""
    now = clock.now()
    claims = tokens.verify_access_token(get_settings(), access_token, now)
    with TransactGet(connection=connection()) as work:
        user_future = work.get(UserModel, claims.user_id)
        session_future = work.get(SessionModel, claims.session_id)
    try:
        user, session = user_future.get(), session_future.get()
    except (UserModel.DoesNotExist, SessionModel.DoesNotExist):
        raise AuthenticationFailed("Invalid or expired access token", code="INVALID_TOKEN") from None
    if session.revoked or session.user_id != user.user_id:
        raise AuthenticationFailed("Session has ended; please log in again", code="SESSION_REVOKED")
    ensure_may_act(effective_status(user.status, user.suspended_until, now))
    return Principal(user.user_id, user.account_type, session.session_id, user)


def get_user(user_id: str) -> UserModel:
    try:
        return UserModel.get(user_id, consistent_read=True)
    except UserModel.DoesNotExist:
        raise AuthenticationFailed("Invalid refresh token", code="INVALID_REFRESH_TOKEN") from None

"""Registration, login, refresh-token rotation, logout, per-request authentication, and account self-service:
password change, forgotten-password reset and email verification (tokens mailed through SES)."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactGet

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.domain import limits, tokens
from chalicelib.domain.accounts import ACTIVE, ADMIN, effective_status, ensure_may_act
from chalicelib.domain.errors import (AuthenticationFailed, Conflict, DomainError, FieldProblem, RateLimited,
                                      ValidationFailed, field_error)
from chalicelib.domain.passwords import hash_password, verify_password
from chalicelib.caller import Principal
from chalicelib.gateways import mail
from chalicelib.persistence import counters
from chalicelib.persistence import limits as attempts
from chalicelib.persistence.db import connection, failed_conditions, failed_items, transact_write
from chalicelib.persistence.ledger import open_account
from chalicelib.persistence.limits import AccountTokenModel
from chalicelib.persistence.models import EmailClaimModel, SessionModel, UserModel
from chalicelib.services.rate_limits import subject_of_ip
from chalicelib.services import events

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


def register(email: str, password: str, first_name: str, last_name: str, company: str | None,
             account_type: str) -> Issued:
    now = clock.now()
    user_id = str(uuid.uuid4())
    # The first session is written with the user: a failure leaves neither, so a retry is not EMAIL_EXISTS.
    session, secret = _new_session(user_id, now)
    user = create_user(email, password, first_name, last_name, company, account_type, now,
                       user_id=user_id, first_session=session)
    send_verification(user, now)
    return _issue(user, session, secret, now)


def create_user(email: str, password: str, first_name: str, last_name: str, company: str | None,
                account_type: str, now: datetime, *, user_id: str | None = None,
                first_session: SessionModel | None = None) -> UserModel:
    """User, email claim, billing account (and the first session, if any) in one transaction: all exist,
    or none."""
    user = UserModel(
        user_id=user_id or str(uuid.uuid4()), email=email.lower(), password_hash=hash_password(password),
        first_name=first_name, last_name=last_name, company=company, account_type=account_type,
        status=ACTIVE, created_at=now, updated_at=now,
        session_ids=[first_session.session_id] if first_session else [],
    )
    claim = EmailClaimModel(email=user.email, user_id=user.user_id)
    try:
        with transact_write() as tx:
            tx.save(claim, condition=EmailClaimModel.email.does_not_exist())
            tx.save(user, condition=UserModel.user_id.does_not_exist())
            tx.save(open_account(user.user_id, user.user_id, get_settings().default_credit_limit, now))
            if first_session is not None:
                tx.save(first_session, condition=SessionModel.session_id.does_not_exist())
            counters.add(tx, counters.users())
            counters.add(tx, counters.users(account_type))
    except TransactWriteError as error:
        if claim in failed_items(error):
            message = "An account with this email already exists"
            raise Conflict(message, code="EMAIL_EXISTS",
                           details=[FieldProblem("email", "EMAIL_EXISTS", message)]) from None
        raise
    return user


def login(email: str, password: str, device_info: dict | None = None, client_ip: str | None = None) -> Issued:
    """`device_info` (what the client says about itself) is kept on the new session. A password check is
    reserved before it is made (login_attempt), so parallel guesses cannot outrun the count."""
    now = clock.now()
    reserved = _reserve_attempt(_email_digest(email), subject_of_ip(client_ip), now)
    user = _user_by_email(email)
    # verify_password does the same work when the user is unknown: timing reveals nothing.
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise AuthenticationFailed("Invalid email or password", code="INVALID_CREDENTIALS")
    attempts.release(reserved)  # the right password: the attempt does not count against anyone
    ensure_may_act(effective_status(user.status, user.suspended_until, now))
    user.update(actions=[UserModel.last_login_at.set(now)])
    return _start_session(user, now, device_info)


def _email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()  # no plain emails in the counters


def _reserve_attempt(who: str, where: str, now: datetime) -> list[str]:
    """Reserves one password check of `who` (an email's digest, or a user) from `where` (a client's digest),
    atomically and before the check: conditional increments of the count from this client (at most
    login_max_failures) and of the count from every client (login_max_failures_per_email, looser, so an
    attacker's failures from one address do not lock the owner out from another). Failed checks keep their
    reservation for the window; a successful one gives it back (attempts.release)."""
    settings = get_settings()
    window = limits.window(now, settings.login_window_seconds)
    keys = {f"login#{who}#{where}#{window.start}": settings.login_max_failures,
            f"login#{who}#*#{window.start}": settings.login_max_failures_per_email}
    if attempts.reserve(keys, window.purge_at) is not None:
        raise RateLimited("Too many failed login attempts; try again later", code="TOO_MANY_LOGIN_ATTEMPTS",
                          headers={"Retry-After": str(window.retry_after(now))})
    return list(keys)


def _user_by_email(email: str) -> UserModel | None:
    key = email.strip().lower()
    if not key:  # blank once trimmed (control characters): nobody has it, and DynamoDB keys are never empty
        return None
    try:
        claim = EmailClaimModel.get(key)
        return UserModel.get(claim.user_id, consistent_read=True)
    except (EmailClaimModel.DoesNotExist, UserModel.DoesNotExist):
        return None


SESSION_ATTEMPTS = 20


def _start_session(user: UserModel, now: datetime, device_info: dict | None = None) -> Issued:
    keep = get_settings().max_active_sessions - 1
    for _ in range(SESSION_ATTEMPTS):
        # Of concurrent logins one commits the list it read; the others read it again.
        listed = _session_ids(user.user_id)
        live = _live_sessions(listed, now)
        evicted = live[: max(0, len(live) - keep)]
        session, secret = _new_session(user.user_id, now, device_info)
        ids = [s.session_id for s in live[len(evicted):]] + [session.session_id]
        try:
            with transact_write() as tx:
                tx.update(user, actions=[UserModel.session_ids.set(ids)], condition=UserModel.session_ids == listed)
                tx.save(session, condition=SessionModel.session_id.does_not_exist())
                for old in evicted:
                    tx.update(old, actions=[SessionModel.revoked.set(True),
                                            SessionModel.revoked_reason.set("session_limit")])
        except TransactWriteError as error:
            if any(failed_conditions(error)):
                continue  # another login changed the list first: read it again
            raise
        return _issue(user, session, secret, now)
    raise DomainError("Too many simultaneous logins; please try again")


def _session_ids(user_id: str) -> list[str]:
    return UserModel.get(user_id, consistent_read=True, attributes_to_get=["session_ids"]).session_ids or []


def _live_sessions(session_ids: list[str], now: datetime) -> list[SessionModel]:
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


def _new_session(user_id: str, now: datetime, device_info: dict | None = None) -> tuple[SessionModel, str]:
    """A session not yet written, and the refresh secret only its holder will know."""
    secret = tokens.new_refresh_secret()
    expires_at = now + timedelta(seconds=get_settings().refresh_token_ttl_seconds)
    session = SessionModel(
        session_id=str(uuid.uuid4()), user_id=user_id, token_hash=tokens.hash_secret(secret),
        created_at=now, last_used_at=now, expires_at=expires_at, purge_at=expires_at + timedelta(days=7),
        device_info=device_info,
    )
    return session, secret


def _issue(user: UserModel, session: SessionModel, secret: str, now: datetime) -> Issued:
    settings = get_settings()
    access = tokens.issue_access_token(
        settings, tokens.AccessClaims(user.user_id, user.account_type, session.session_id), now)
    return Issued(user, access, tokens.format_refresh_token(session.session_id, secret),
                  settings.access_token_ttl_seconds)


def active_sessions(user_id: str, now: datetime) -> list[SessionModel]:
    """Oldest first, from the user's list (read consistently: a session created a moment ago is in it)."""
    return _live_sessions(_session_ids(user_id), now)


def _revoke(session: SessionModel, reason: str) -> bool:
    try:
        session.update(actions=[SessionModel.revoked.set(True), SessionModel.revoked_reason.set(reason)],
                       condition=SessionModel.revoked == False)  # noqa: E712 - a DynamoDB condition
        return True
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise


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
        _revoke(session, "refresh_token_reuse")
        raise AuthenticationFailed("Refresh token was already used; the session has been revoked",
                                   code="REFRESH_TOKEN_REUSED")
    if not tokens.same_hash(presented, session.token_hash):
        raise invalid
    if session.expires_at <= now:
        raise AuthenticationFailed("Refresh token has expired", code="REFRESH_TOKEN_EXPIRED")
    user = _get_user(session.user_id)
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
        _revoke(session, "refresh_token_reuse")
        raise AuthenticationFailed("Refresh token was already used; the session has been revoked",
                                   code="REFRESH_TOKEN_REUSED") from None
    return _issue(user, session, new_secret, now)


def logout(principal: Principal, refresh_token: str | None, all_devices: bool) -> int:
    """Revoke this session (or the one the refresh token names), or every session of the user.
    Access tokens die with their session: authenticate() checks it on every request."""
    now = clock.now()
    if all_devices:
        revoked = sum(_revoke(s, "logout_all") for s in active_sessions(principal.user_id, now))
        events.close_connections(principal.user_id)  # its open WebSockets close too
        return revoked
    session_id = principal.session_id
    if refresh_token:
        session_id, _ = tokens.parse_refresh_token(refresh_token)
    try:
        session = SessionModel.get(session_id, consistent_read=True)
    except SessionModel.DoesNotExist:
        return 0
    if session.user_id != principal.user_id:
        return 0  # not theirs: say nothing about it
    return int(_revoke(session, "logout"))


def revoke_all_sessions(user_id: str, reason: str) -> int:
    revoked = sum(_revoke(s, reason) for s in active_sessions(user_id, clock.now()))
    events.close_connections(user_id)  # its open WebSockets close too (suspension, deactivation)
    return revoked


def authenticate(access_token: str) -> Principal:
    """Every authenticated request: a valid token, a live session, an account allowed to act.
    User and session are read in one round trip, so suspension and logout apply at once."""
    now = clock.now()
    claims = tokens.verify_access_token(get_settings(), access_token, now)
    with TransactGet(connection=connection()) as tx:
        user_future = tx.get(UserModel, claims.user_id)
        session_future = tx.get(SessionModel, claims.session_id)
    try:
        user, session = user_future.get(), session_future.get()
    except (UserModel.DoesNotExist, SessionModel.DoesNotExist):
        raise AuthenticationFailed("Invalid or expired access token", code="INVALID_TOKEN") from None
    if session.revoked or session.user_id != user.user_id:
        raise AuthenticationFailed("Session has ended; please log in again", code="SESSION_REVOKED")
    ensure_may_act(effective_status(user.status, user.suspended_until, now))
    return Principal(user.user_id, user.account_type, session.session_id, user)


def _get_user(user_id: str) -> UserModel:
    try:
        return UserModel.get(user_id, consistent_read=True)
    except UserModel.DoesNotExist:
        raise AuthenticationFailed("Invalid refresh token", code="INVALID_REFRESH_TOKEN") from None


def ensure_admin(email: str, password: str) -> bool:
    """Seed an admin (local runtime). False when the email is already taken."""
    try:
        create_user(email, password, "Admin", "User", None, ADMIN, clock.now())
        return True
    except Conflict:
        return False


# --- account self-service ----------------------------------------------------------------------

VERIFY_EMAIL, RESET_PASSWORD = "verify_email", "reset_password"


def change_password(principal: Principal, current_password: str, new_password: str) -> int:
    """The caller's own password, proven by the current one (checks reserved as logins are, per user).
    Every other session of the user is revoked; the number revoked is answered."""
    now = clock.now()
    user = _get_user(principal.user_id)
    reserved = _reserve_attempt(f"user:{user.user_id}", "change-password", now)
    if not verify_password(user.password_hash, current_password):
        raise field_error("current_password", "INVALID_CURRENT_PASSWORD", "Current password is incorrect")
    attempts.release(reserved)
    if current_password == new_password:
        raise field_error("new_password", "PASSWORD_UNCHANGED", "New password must differ from the current one")
    _set_password(user, new_password, now)
    return sum(_revoke(s, "password_changed") for s in active_sessions(user.user_id, now)
               if s.session_id != principal.session_id)


def _set_password(user: UserModel, new_password: str, now: datetime, tx=None) -> None:
    """On condition the hash is still the one read: of two concurrent changes one wins, the other is 409."""
    actions = [UserModel.password_hash.set(hash_password(new_password)), UserModel.updated_at.set(now)]
    condition = UserModel.password_hash == user.password_hash
    if tx is not None:
        tx.update(user, actions=actions, condition=condition)
        return
    try:
        user.update(actions=actions, condition=condition)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict("The password was changed meanwhile", code="PASSWORD_CHANGED") from None
        raise


RESET_MAILS_PER_WINDOW = 3  # reset links mailed to one address in a login window: no mailbox flooding


def forgot_password(email: str) -> None:
    """Mails a reset link when the email has an account, and says nothing either way (the route is 202).
    An address gets RESET_MAILS_PER_WINDOW links a window at most, counted whether or not it has an account."""
    now = clock.now()
    window = limits.window(now, get_settings().login_window_seconds)
    if attempts.reserve({f"reset-mail#{_email_digest(email)}#{window.start}": RESET_MAILS_PER_WINDOW},
                        window.purge_at) is not None:
        return
    user = _user_by_email(email)
    if user is None:
        return
    token = _issue_token(user, RESET_PASSWORD, get_settings().password_reset_ttl_seconds, now)
    link = f"{get_settings().app_base_url}/reset-password?token={token}"
    mail.send(mail.Mail(user.email, "Reset your password",
                        f"Someone asked to reset the password of your call exchange account.\n\n"
                        f"To choose a new one, follow this link within the hour:\n{link}\n\n"
                        f"If it was not you, ignore this message: your password stays as it is."))


def reset_password(token: str, new_password: str) -> int:
    """A reset token (single use, an hour at most, void once the password changed) sets a new password and
    revokes every session of the user. The number revoked is answered."""
    now = clock.now()
    item, user = _redeem(token, RESET_PASSWORD, now)
    try:
        with transact_write() as tx:
            tx.update(item, actions=[AccountTokenModel.used_at.set(now)],
                      condition=AccountTokenModel.used_at.does_not_exist())
            _set_password(user, new_password, now, tx)
    except TransactWriteError as error:
        if any(failed_conditions(error)):
            raise _invalid_token(RESET_PASSWORD) from None
        raise
    return revoke_all_sessions(user.user_id, "password_reset")


def send_verification(user: UserModel, now: datetime) -> bool:
    token = _issue_token(user, VERIFY_EMAIL, get_settings().email_verification_ttl_seconds, now)
    link = f"{get_settings().app_base_url}/verify-email?token={token}"
    return mail.send(mail.Mail(user.email, "Verify your email address",
                               f"Welcome to the call exchange, {user.first_name}.\n\n"
                               f"To verify your email address, follow this link:\n{link}\n"))


def verify_email(token: str) -> UserModel:
    """A verification token (single use) marks the address it was sent to as verified."""
    now = clock.now()
    item, user = _redeem(token, VERIFY_EMAIL, now)
    try:
        with transact_write() as tx:
            tx.update(item, actions=[AccountTokenModel.used_at.set(now)],
                      condition=AccountTokenModel.used_at.does_not_exist())
            tx.update(user, actions=[UserModel.email_verified.set(True), UserModel.updated_at.set(now)],
                      condition=UserModel.email == item.email)
    except TransactWriteError as error:
        if any(failed_conditions(error)):
            raise _invalid_token(VERIFY_EMAIL) from None
        raise
    user.email_verified = True
    return user


def _password_fingerprint(user: UserModel) -> str:
    return tokens.hash_secret(user.password_hash)


def _issue_token(user: UserModel, purpose: str, ttl_seconds: int, now: datetime) -> str:
    """A new random token; only its SHA-256 is stored."""
    secret = tokens.new_refresh_secret()
    expires_at = now + timedelta(seconds=ttl_seconds)
    AccountTokenModel(token_hash=tokens.hash_secret(secret), purpose=purpose, user_id=user.user_id,
                      email=user.email, password_fingerprint=_password_fingerprint(user), created_at=now,
                      expires_at=expires_at, purge_at=expires_at + timedelta(days=1),
                      ).save(condition=AccountTokenModel.token_hash.does_not_exist())
    return secret


def _invalid_token(purpose: str) -> ValidationFailed:
    what = "reset" if purpose == RESET_PASSWORD else "verification"
    return field_error("token", "INVALID_TOKEN", f"This {what} link is invalid, used or expired")


def _redeem(token: str, purpose: str, now: datetime) -> tuple[AccountTokenModel, UserModel]:
    """The token's item and user, if the token may still be used (the caller marks it used)."""
    item = attempts.get_token(tokens.hash_secret(token))
    if item is None or item.purpose != purpose or item.used_at is not None or item.expires_at <= now:
        raise _invalid_token(purpose)
    try:
        user = UserModel.get(item.user_id, consistent_read=True)
    except UserModel.DoesNotExist:
        raise _invalid_token(purpose) from None
    if user.email != item.email or (purpose == RESET_PASSWORD
                                    and _password_fingerprint(user) != item.password_fingerprint):
        raise _invalid_token(purpose)
    return item, user

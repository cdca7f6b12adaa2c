"""Accounts: registration, and self-service: password change, forgotten-password reset and email
verification (single-use tokens mailed through SES)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Callable

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.config import get_settings
from chalicelib.domain import limits, tokens
from chalicelib.domain.accounts import ACTIVE, ADMIN
from chalicelib.domain.errors import Conflict, FieldProblem, ValidationFailed, field_error
from chalicelib.domain.passwords import hash_password, verify_password
from chalicelib.gateways import mail
from chalicelib.persistence import account_tokens, counters, rate_counters
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_conditions, failed_items
from chalicelib.persistence.ledger import open_account
from chalicelib.persistence.tables import AccountTokenModel, EmailClaimModel, SessionModel, UserModel
from chalicelib.services import sessions
from chalicelib.services.sessions import Issued


def register(email: str, password: str, first_name: str, last_name: str, company: str | None,
             account_type: str) -> Issued:
    now = clock.now()
    user_id = str(uuid.uuid4())
    # The first session is written with the user: a failure leaves neither, so a retry is not EMAIL_EXISTS.
    session, secret = sessions.new_session(user_id, now)
    user = create_user(email, password, first_name, last_name, company, account_type, now,
                       user_id=user_id, first_session=session)
    send_verification(user, now)
    return sessions.issue(user, session, secret, now)


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
        with UnitOfWork() as work:
            work.save(claim, condition=EmailClaimModel.email.does_not_exist())
            work.save(user, condition=UserModel.user_id.does_not_exist())
            work.save(open_account(user.user_id, user.user_id, get_settings().default_credit_limit, now))
            if first_session is not None:
                work.save(first_session, condition=SessionModel.session_id.does_not_exist())
            counters.add_to_all(work, counters.users())
            counters.add_to_all(work, counters.users(account_type))
    except TransactWriteError as error:
        if claim in failed_items(error):
            message = "An account with this email already exists"
            raise Conflict(message, code="EMAIL_EXISTS",
                           details=[FieldProblem("email", "EMAIL_EXISTS", message)]) from None
        raise
    return user


def ensure_admin(email: str, password: str) -> bool:
    """Seed an admin (local runtime). False when the email is already taken."""
    try:
        create_user(email, password, "Admin", "User", None, ADMIN, clock.now())
        return True
    except Conflict:
        return False


VERIFY_EMAIL, RESET_PASSWORD = "verify_email", "reset_password"


def change_password(principal: Principal, current_password: str, new_password: str) -> int:
    """The caller's own password, proven by the current one (checks reserved as logins are, per user).
    Every other session of the user is revoked; the number revoked is answered."""
    now = clock.now()
    user = sessions.get_user(principal.user_id)
    reserved = sessions.reserve_password_check(f"user:{user.user_id}", "change-password", now)
    if not verify_password(user.password_hash, current_password):
        raise field_error("current_password", "INVALID_CURRENT_PASSWORD", "Current password is incorrect")
    rate_counters.release(reserved)
    if current_password == new_password:
        raise field_error("new_password", "PASSWORD_UNCHANGED", "New password must differ from the current one")
    _set_password(user, new_password, now)
    return sum(sessions.revoke(s, "password_changed") for s in sessions.active_sessions(user.user_id, now)
               if s.session_id != principal.session_id)


def _set_password(user: UserModel, new_password: str, now: datetime, work=None) -> None:
    """On condition the hash is still the one read: of two concurrent changes one wins, the other is 409."""
    actions = [UserModel.password_hash.set(hash_password(new_password)), UserModel.updated_at.set(now)]
    condition = UserModel.password_hash == user.password_hash
    if work is not None:
        work.update(user, actions=actions, condition=condition)
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
    user = _mailable(email, "reset-mail", now)
    if user is None:
        return
    token = _issue_token(user, RESET_PASSWORD, get_settings().password_reset_ttl_seconds, now)
    link = f"{get_settings().app_base_url}/reset-password?token={token}"
    mail.send(mail.Mail(user.email, "Reset your password",
                        f"Someone asked to reset the password of your call exchange account.\n\n"
                        f"To choose a new one, follow this link within the hour:\n{link}\n\n"
                        f"If it was not you, ignore this message: your password stays as it is."))


def resend_verification(email: str) -> None:
    """Mails a new verification link when the email has an account not verified yet, and says nothing either
    way (the route is 202); an address gets RESET_MAILS_PER_WINDOW of them a window at most, counted whether
    or not it has an account, as reset links are."""
    now = clock.now()
    user = _mailable(email, "verify-mail", now)
    if user is None or user.email_verified:
        return
    send_verification(user, now)


def _mailable(email: str, kind: str, now: datetime) -> UserModel | None:
    """The account a mail of `kind` may go to: None past RESET_MAILS_PER_WINDOW of them to this address this
    window (counted whether or not it has an account), or when it has none."""
    window = limits.window(now, get_settings().login_window_seconds)
    mails = {f"{kind}#{sessions.email_digest(email)}#{window.start}": RESET_MAILS_PER_WINDOW}
    if rate_counters.reserve(mails, window.purge_at) is not None:
        return None
    return sessions.user_by_email(email)


def reset_password(token: str, new_password: str) -> int:
    """A reset token (single use, an hour at most, void once the password changed) sets a new password and
    revokes every session of the user. The number revoked is answered."""
    now = clock.now()
    user = _use_token(token, RESET_PASSWORD, now,
                      lambda work, user, item: _set_password(user, new_password, now, work))
    return sessions.revoke_all_sessions(user.user_id, "password_reset")


def send_verification(user: UserModel, now: datetime) -> bool:
    token = _issue_token(user, VERIFY_EMAIL, get_settings().email_verification_ttl_seconds, now)
    link = f"{get_settings().app_base_url}/verify-email?token={token}"
    return mail.send(mail.Mail(user.email, "Verify your email address",
                               f"Welcome to the call exchange, {user.first_name}.\n\n"
                               f"To verify your email address, follow this link:\n{link}\n"))


def verify_email(token: str) -> UserModel:
    """A verification token (single use) marks the address it was sent to as verified."""
    now = clock.now()

    def verified(work: UnitOfWork, user: UserModel, item: AccountTokenModel) -> None:
        work.update(user, actions=[UserModel.email_verified.set(True), UserModel.updated_at.set(now)],
                    condition=UserModel.email == item.email)
        work.assign(user, {"email_verified": True, "updated_at": now})

    return _use_token(token, VERIFY_EMAIL, now, verified)


def _use_token(token: str, purpose: str, now: datetime,
               change: Callable[[UnitOfWork, UserModel, AccountTokenModel], None]) -> UserModel:
    """The token's user, once `change` and the token's single use are written together: a token used (or
    made void) meanwhile is the same 400 as an invalid one, and changes nothing."""
    item, user = _redeem(token, purpose, now)
    try:
        with UnitOfWork() as work:
            work.update(item, actions=[AccountTokenModel.used_at.set(now)],
                        condition=AccountTokenModel.used_at.does_not_exist())
            change(work, user, item)
    except TransactWriteError as error:
        if any(failed_conditions(error)):
            raise _invalid_token(purpose) from None
        raise
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
    item = account_tokens.get_token(tokens.hash_secret(token))
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

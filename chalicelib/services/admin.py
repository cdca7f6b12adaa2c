"""Admin use cases: list and view users, suspend, reactivate, credit."""
from __future__ import annotations

import functools
import operator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib import clock
from chalicelib.domain.accounts import ACTIVE, DEACTIVATED, SUSPENDED, suspension_end
from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.domain.ledger import admin_credit
from chalicelib.domain.money import format_money, to_minor
from chalicelib.caller import Principal
from chalicelib.persistence import counters
from chalicelib.gateways import queues
from chalicelib.observability import logger
from chalicelib.persistence import ledger
from chalicelib.persistence.ledger import get_account, platform_books, post, set_credit_limit
from chalicelib.persistence.base import shard_key, shard_keys
from chalicelib.persistence.tables import UserModel
from chalicelib.persistence.tables.identity import USERS
from chalicelib.persistence.pagination import Page, paginate_shards
from chalicelib.persistence.unit_of_work import UnitOfWork
from chalicelib.services import bid_profiles, bids, holds, notifications
from chalicelib.services.sessions import revoke_all_sessions

TIMED = "SUSPENDED"  # suspension_key prefix of users in the timed_suspensions index (in shards, by user id)


def list_users(account_type: str | None, status: str | None, page: int, limit: int,
               next_token: str | None, search: str | None = None) -> Page:
    if account_type:
        index, prefix = UserModel.by_type, account_type
    else:
        index, prefix = UserModel.all_users, USERS
    # A status filter or a search reads through the listing and counts what it finds (admins only; users are
    # few next to calls); without one, the total is a counter.
    conditions = [UserModel.status == status] if status else []
    if search:
        conditions.append(_matching(search))
    condition = functools.reduce(operator.and_, conditions) if conditions else None
    return paginate_shards(index, shard_keys(prefix), lambda: counters.value_of_all(counters.users(account_type)),
                           condition=condition, scope=f"users:{account_type}:{status}:{search}", page=page,
                           limit=limit, next_token=next_token)


def _matching(search: str) -> Any:
    """Emails are kept in lower case; names as their owners typed them ("ada" finds "Ada" too)."""
    names = {search, search[:1].upper() + search[1:]}
    found = UserModel.email.contains(search.lower())
    for name in names:
        found = found | UserModel.first_name.contains(name) | UserModel.last_name.contains(name)
    return found


def get_user(user_id: str) -> UserModel:
    try:
        return UserModel.get(user_id, consistent_read=True)
    except UserModel.DoesNotExist:
        raise NotFound("User not found", code="USER_NOT_FOUND") from None


def user_detail(user_id: str) -> dict:
    user = get_user(user_id)
    return {**_fields(user), "billing": get_account(user_id)}


def _fields(user: UserModel) -> dict:
    return {name: getattr(user, name) for name in user.get_attributes()}


def suspend(admin: Principal, user_id: str, reason: str, duration_days: int | None, notify_user: bool) -> UserModel:
    if user_id == admin.user_id:
        raise Forbidden("Admins cannot suspend themselves", code="CANNOT_SUSPEND_SELF")
    user = get_user(user_id)
    now = clock.now()
    until = suspension_end(now, duration_days)
    suspended = {"status": SUSPENDED, "suspension_reason": reason, "suspended_at": now, "suspended_until": until,
                 "suspension_key": shard_key(TIMED, user_id) if until else None, "updated_at": now}
    with UnitOfWork() as work:
        work.update(user, actions=[getattr(UserModel, name).set(value) if value is not None
                                   else getattr(UserModel, name).remove() for name, value in suspended.items()])
        work.assign(user, suspended)
        if notify_user:
            ends = f" until {until:%Y-%m-%d %H:%M} UTC" if until else ""
            notifications.send(work, user_id, "account_suspended", "Your account has been suspended",
                               f"Your account has been suspended{ends}. Reason: {reason}", now)
    revoke_all_sessions(user_id, "suspended")
    _out_of_market(user_id, now)
    return user


def update_user(admin: Principal, user_id: str, credit_limit, active: bool | None) -> dict:
    """Sets the credit limit and/or (de)activates. Deactivation refuses login from then on and ends
    every session; activation also ends a suspension."""
    if active is False and user_id == admin.user_id:
        raise Forbidden("Admins cannot deactivate themselves", code="CANNOT_DEACTIVATE_SELF")
    user = get_user(user_id)
    account = set_credit_limit(user_id, to_minor(credit_limit)) if credit_limit is not None else None
    if active is False and user.status != DEACTIVATED:
        user.update(actions=_status_actions(DEACTIVATED, clock.now()))
        revoke_all_sessions(user_id, "deactivated")
        _out_of_market(user_id, clock.now())
    elif active is True:
        if user.status != ACTIVE:
            user.update(actions=_status_actions(ACTIVE, clock.now()))
        bid_profiles.resume_sellers_profiles(user_id)  # again too: a resumption cut short is finished
    return {**_fields(user), "billing": account or get_account(user_id)}


def reactivate(user_id: str) -> UserModel:
    """Idempotent: reactivating an active user changes nothing but profiles a suspension left paused."""
    user = get_user(user_id)
    now = clock.now()
    if user.status != ACTIVE:
        user.update(actions=_status_actions(ACTIVE, now))
    bid_profiles.resume_sellers_profiles(user_id)  # again too: a resumption cut short is finished
    return user


def _out_of_market(user_id: str, now: datetime) -> None:
    """A suspended or deactivated seller takes no more calls: its profiles are paused and its standing
    bids withdrawn at once (routing also passes over it, should a call be on its way)."""
    bid_profiles.pause_sellers_profiles(user_id)
    bids.withdraw_standing_bids(user_id, now)


def _status_actions(status: str, now: datetime) -> list:
    """Active or deactivated: either way, no suspension is left."""
    return [
        UserModel.status.set(status),
        UserModel.suspension_reason.remove(),
        UserModel.suspended_at.remove(),
        UserModel.suspended_until.remove(),
        UserModel.suspension_key.remove(),
        UserModel.updated_at.set(now),
    ]


def lift_expired_suspensions(now: datetime) -> int:
    """Scheduled: reactivate every user whose timed suspension has ended. Safe to run twice."""
    lifted = 0
    ended = (entry for shard in shard_keys(TIMED)
             for entry in UserModel.timed_suspensions.query(shard, UserModel.suspended_until <= now))
    for entry in ended:
        try:
            # Conditional: an admin may have changed the suspension since the index was read.
            UserModel(user_id=entry.user_id).update(
                actions=_status_actions(ACTIVE, now),
                condition=(UserModel.status == SUSPENDED) & (UserModel.suspended_until <= now),
            )
            bid_profiles.resume_sellers_profiles(entry.user_id)
            lifted += 1
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
    return lifted


def credit(user_id: str, amount, reason: str, idempotency_key: str) -> dict:
    get_user(user_id)
    minor = to_minor(amount)
    key = f"admin_credit:{user_id}:{idempotency_key}"
    record = post(admin_credit(key, user_id, minor, reason), clock.now())
    credited = max(entry["amount"] for entry in record.entries)  # the first posting's, on a retry
    return {"transaction_id": record.transaction_id, "amount": format_money(credited),
            "balance": get_account(user_id)}


def books() -> dict:
    """The platform's books, and whether the money every account holds is exactly what the open holds hold.
    The two are read apart: a read of the holds before and after the books that agree, around books read
    as of one moment, compare one moment (tried a few times while money moves)."""
    for _ in range(BOOKS_ATTEMPTS):
        before = holds.held_in_total()
        read = platform_books()
        after = holds.held_in_total()
        if before == after and read["snapshot"]:
            break
    return {**read, "open_holds": after, "holds_match": read["totals"]["held"] == after}


BOOKS_ATTEMPTS = 3


def request_audit(admin: Principal) -> dict:
    """Queues the books' audit (it reads every account: a job, not a request); its report comes to the
    admin's notifications."""
    now = clock.now()
    queues.send(queues.LEDGER_AUDIT, {"admin_id": admin.user_id, "requested_at": now.isoformat()})
    return {"status": "queued", "requested_at": now}


AUDIT_ATTEMPTS = 3  # reads of every account while money moves, until one finds no posting during it


def run_audit(admin_id: str) -> dict:
    """The audit job: every account summed against the kept totals (persistence/ledger.audit), read again
    while postings happened during a read and it found a difference. A difference, or books that do not
    balance, is logged as an error; the report goes to the admin who asked."""
    for _ in range(AUDIT_ATTEMPTS):
        report = ledger.audit()
        if report["quiet"] or not report["differences"]:
            break
    clean = report["balanced"] and not report["differences"]
    (logger.info if clean else logger.error)("Ledger audit", extra={"audit": report})
    sums = ", ".join(f"{bucket} {format_money(amount)}" for bucket, amount in report["sums"].items())
    found = "no difference" if not report["differences"] else "differences " + ", ".join(
        f"{name} {amount:+d}" for name, amount in report["differences"].items())
    with UnitOfWork() as work:
        notifications.send(work, admin_id, "ledger_audit", "Ledger audit: " + ("clean" if clean else "DIFFERENCES"),
                           f"{report['accounts']} accounts summed: {sums}; against the kept totals, {found}; "
                           f"the books {'balance' if report['balanced'] else 'do NOT balance'}.", clock.now())
    return report

"""Admin-kept compliance lists and the check every new call goes through."""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from urllib.parse import unquote

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactGet

from chalicelib import clock
from chalicelib.config import get_settings
from chalicelib.domain import compliance as rules
from chalicelib.domain import phones
from chalicelib.domain.calls import OUTBOUND
from chalicelib.domain.errors import Conflict, Forbidden, NotFound, field_error
from chalicelib.domain.phones import canonical_e164
from chalicelib.caller import Principal
from chalicelib.persistence import counters
from chalicelib.persistence.db import connection
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.persistence.tables import (EVERYTHING, BlockedCallerModel, ComplianceRefusalModel, ComplianceRuleModel,
                                           DncEntryModel)
from chalicelib.persistence.base import shard_keys
from chalicelib.persistence.pagination import Page, paginate, paginate_shards

TCPA, STATE = "tcpa_hours", "state"
WINDOW = "window"  # the one TCPA item
_STATE_CODE = re.compile(r"[A-Za-z]{2}")  # fullmatch: "$" would let "CA\n" through


def phone_from_path(value: str) -> str:
    """"+" arrives as itself or as %2B in a path; the number is read in its canonical spelling, as it is
    stored. A malformed number is a 400 that never repeats it."""
    number = canonical_e164(unquote(value) if isinstance(value, str) else "")
    if number is None:
        raise field_error("phone_number", "INVALID_PHONE_NUMBER", "Invalid phone number")
    return number


def number_or_prefix_from_path(value: str) -> str:
    """A blocked caller's number or prefix ("+" or %2B, then digits); else a 400 that never repeats it."""
    entry = unquote(value) if isinstance(value, str) else ""
    if not phones.is_number_or_prefix(entry):
        raise field_error("number", "INVALID_PHONE_NUMBER", "Invalid phone number or prefix")
    return entry


def state_from_path(value: str) -> str:
    """A two-letter state or province code from a path, in upper case; else a 400 that never repeats it."""
    if not isinstance(value, str) or not _STATE_CODE.fullmatch(value):
        raise field_error("state", "INVALID_STATE_CODE", "State must be a two-letter code")
    return value.upper()


# --- DNC --------------------------------------------------------------------------------------

def add_dnc(admin: Principal, phone_number: str, reason: str, list_type: str) -> DncEntryModel:
    entry = DncEntryModel(phone_number=phone_number, reason=reason, list_type=list_type, added_by=admin.user_id,
                          created_at=clock.now())
    entry.save()  # adding again updates the reason: the number is listed either way
    return entry


def dnc_status(phone_number: str) -> dict:
    entry = _dnc_entry(phone_number)
    return {"phone_number": phone_number, "is_dnc": entry is not None,
            "reason": entry.reason if entry else None, "list_type": entry.list_type if entry else None}


def _dnc_entry(phone_number: str) -> DncEntryModel | None:
    try:
        return DncEntryModel.get(phone_number)
    except DncEntryModel.DoesNotExist:
        return None


def remove_dnc(phone_number: str) -> None:
    entry = _dnc_entry(phone_number)
    if entry is None:
        raise NotFound("Number is not on the DNC list", code="DNC_ENTRY_NOT_FOUND")
    entry.delete()


# --- TCPA calling hours ----------------------------------------------------------------------

def set_tcpa_hours(start_time: str, end_time: str, timezone: str) -> dict:
    """A window from start to end in the callee's time; one that ends before it starts runs over midnight.
    An empty window (start equal to end) would refuse every outbound call: 400."""
    if start_time == end_time:
        raise field_error("end_time", "EMPTY_CALLING_WINDOW", "The calling window must not be empty")
    ComplianceRuleModel(kind=TCPA, rule_key=WINDOW, created_at=clock.now(),
                        settings={"start_time": start_time, "end_time": end_time, "timezone": timezone}).save()
    return tcpa_hours()


def tcpa_hours() -> dict:
    try:
        return ComplianceRuleModel.get(TCPA, WINDOW).settings
    except ComplianceRuleModel.DoesNotExist:
        return tcpa_default()


def tcpa_default() -> dict:
    """The window when an admin has set none."""
    start, end = rules.DEFAULT_WINDOW
    return {"start_time": start, "end_time": end, "timezone": get_settings().default_timezone}


def _rules_for(direction: str, from_number: str, to_number: str) -> tuple[dict, DncEntryModel | None, set[str],
                                                                           list[str]]:
    """What the check needs, each read by key in one TransactGetItems, never a list: the calling window and
    the callee's DNC entry (outbound only), the states of both numbers that are restricted, and the blocked
    callers the caller's number equals or starts with (its prefixes: at most 15 keys)."""
    outbound = direction == OUTBOUND
    states = sorted({state for state in (phones.state_of(from_number), phones.state_of(to_number)) if state})
    with TransactGet(connection=connection()) as read:
        window = read.get(ComplianceRuleModel, TCPA, WINDOW) if outbound else None
        dnc = read.get(DncEntryModel, to_number) if outbound else None
        restricted = [read.get(ComplianceRuleModel, STATE, state) for state in states]
        blocked = [read.get(BlockedCallerModel, prefix) for prefix in phones.prefixes(from_number)]
    window_rule = _found(window)
    return (window_rule.settings if window_rule else tcpa_default(), _found(dnc),
            {rule.rule_key for rule in map(_found, restricted) if rule},
            [entry.phone_number for entry in map(_found, blocked) if entry])


def _found(future):
    """The item a TransactGet read (or was not asked to read), None when there is none."""
    try:
        return future.get() if future is not None else None
    except DoesNotExist:
        return None


# --- state restrictions -----------------------------------------------------------------------

def add_restriction(state: str, reason: str | None) -> ComplianceRuleModel:
    rule = ComplianceRuleModel(kind=STATE, rule_key=state, reason=reason, created_at=clock.now())
    try:
        rule.save(condition=ComplianceRuleModel.rule_key.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
        raise Conflict("State is already restricted", code="ALREADY_RESTRICTED") from None
    return rule


def restrictions() -> list[dict]:
    return [{"state": r.rule_key, "reason": r.reason, "created_at": r.created_at}
            for r in ComplianceRuleModel.query(STATE)]


def remove_restriction(state: str) -> ComplianceRuleModel:
    """Lift a state's restriction; 404 if it is not restricted. Returns the lifted rule."""
    state = state_from_path(state)
    try:
        rule = ComplianceRuleModel.get(STATE, state)
    except ComplianceRuleModel.DoesNotExist:
        raise NotFound("State is not restricted", code="RESTRICTION_NOT_FOUND") from None
    rule.delete()
    return rule


# --- blocked callers --------------------------------------------------------------------------

BLOCK_ATTEMPTS = 3  # an entry removed between listing it and changing its reason: listed anew


def block_caller(admin: Principal, phone_number: str, reason: str) -> BlockedCallerModel:
    """List a number or prefix; listing it again changes only its reason (who added it and when stay)."""
    for _ in range(BLOCK_ATTEMPTS):
        entry = BlockedCallerModel(phone_number=phone_number, reason=reason, added_by=admin.user_id,
                                   created_at=clock.now())
        try:
            with UnitOfWork() as work:
                work.save(entry, condition=BlockedCallerModel.phone_number.does_not_exist())
                counters.add_to_all(work, counters.BLOCKED_CALLERS)
            return entry
        except TransactWriteError as error:
            if entry not in failed_items(error):
                raise
        try:  # listed already
            entry.update(actions=[BlockedCallerModel.reason.set(reason)],
                         condition=BlockedCallerModel.phone_number.exists())
            return entry  # as stored: the first adder and time, the new reason
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
    raise Conflict("The entry kept changing meanwhile; try again", code="BLOCKED_CALLER_CHANGED")


def list_blocked_callers(page: int, limit: int, next_token: str | None) -> Page:
    """Newest first."""
    return paginate_shards(BlockedCallerModel.everything, shard_keys(EVERYTHING),
                           lambda: counters.value_of_all(counters.BLOCKED_CALLERS), scope="blocked_callers", page=page,
                           limit=limit, next_token=next_token)


def caller_blocked(number: str) -> bool:
    """On the platform's list (the number, or a prefix of it): one BatchGetItem of its prefixes."""
    return any(True for _ in BlockedCallerModel.batch_get(phones.prefixes(number)))


def unblock_caller(phone_number: str) -> None:
    entry = BlockedCallerModel(phone_number=phone_number)
    try:
        with UnitOfWork() as work:
            work.delete(entry, condition=BlockedCallerModel.phone_number.exists())
            counters.add_to_all(work, counters.BLOCKED_CALLERS, -1)
    except TransactWriteError as error:
        if entry not in failed_items(error):
            raise
        raise NotFound("Number or prefix is not blocked", code="BLOCKED_CALLER_NOT_FOUND") from None


# --- the check --------------------------------------------------------------------------------

def check_call(owner_id: str, direction: str, from_number: str, to_number: str, now: datetime) -> None:
    """Refuse (403, with the rule's code) a call that breaks a rule, and record why. Everything the rules
    need is read in one round trip (_rules_for)."""
    window, dnc, restricted_states, blocked_callers = _rules_for(direction, from_number, to_number)
    refusal = rules.check_call(
        direction=direction, from_number=from_number, to_number=to_number, now=now,
        dnc={"list_type": dnc.list_type} if dnc else None,
        window=(window["start_time"], window["end_time"]), fallback_zone=window["timezone"],
        restricted_states=restricted_states, blocked_callers=blocked_callers,
    )
    if refusal is None:
        return
    with UnitOfWork() as work:
        work.save(ComplianceRefusalModel(owner_id=owner_id, refusal_key=f"{now.isoformat()}#{uuid.uuid4()}",
                                         from_number=from_number, to_number=to_number, code=refusal.code,
                                         reason=refusal.reason, created_at=now))
        counters.add(work, counters.refusals(owner_id))
    raise rules.refuse(refusal)


def list_refusals(principal: Principal, user_id: str | None, page: int, limit: int, next_token: str | None) -> Page:
    """Newest first. Buyers see their own; admins may name any user."""
    owner = user_id or principal.user_id
    if owner != principal.user_id and not principal.is_admin:
        raise Forbidden("Only admins may list another user's refusals")

    def run(start_key, count):
        return ComplianceRefusalModel.query(owner, scan_index_forward=False, last_evaluated_key=start_key,
                                            limit=count)

    return paginate(run, lambda: counters.value(counters.refusals(owner)), scope=f"refusals:{owner}",
                    page=page, limit=limit, next_token=next_token)

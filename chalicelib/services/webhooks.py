"""Webhooks for users' own servers: a user registers endpoints (a URL and the events it wants, from the realtime
catalogue), and each event the user is sent (services/events.py's audiences) is also POSTed to each of those
endpoints, signed with the endpoint's secret (domain/signing.py), from the process's one HTTP client.

- The outbox's publisher (services/outbox.py) queues one message per (event, endpoint) on the `webhooks` queue
  (`queue_deliveries`), its delivery id derived from both, so a record published twice is one delivery.
- The queue's worker (`attempt`) makes one attempt and records it on the delivery (the log GET
  /webhooks/{id}/deliveries shows). One that fails (a non-2xx answer, a timeout, no connection) is tried again
  after the next step of WEBHOOK_RETRY_SCHEDULE (with jitter): the attempt and the next try's message are one
  commit (the outbox sends it, delayed; SQS delays 15 minutes at most, so a longer wait is waited in steps).
  After WEBHOOK_RETRY_HOURS the delivery is failed. Every attempt sends the same X-Exchange-Delivery id.
- An endpoint that has failed every delivery for WEBHOOK_RETRY_HOURS is disabled, and its owner notified.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.config import get_settings
from chalicelib.domain import signing
from chalicelib.domain import webhooks as rules
from chalicelib.domain.errors import Conflict, NotFound, field_error
from chalicelib.domain.urls import callback_url_problem
from chalicelib.gateways import outbound, queues
from chalicelib.observability import logger
from chalicelib.persistence.tables import WebhookDeliveryModel, WebhookEndpointsModel
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.services import notifications

WRITE_ATTEMPTS = 5
DELIVERY_LIFETIME = timedelta(days=30)
MAX_QUEUE_DELAY = 900  # SQS's longest


def _not_found() -> NotFound:
    return NotFound("Webhook endpoint not found", code="WEBHOOK_NOT_FOUND")


# --- endpoints ----------------------------------------------------------------------------------------

def _owner(user_id: str) -> WebhookEndpointsModel:
    try:
        return WebhookEndpointsModel.get(user_id, consistent_read=True)
    except WebhookEndpointsModel.DoesNotExist:
        return WebhookEndpointsModel(user_id=user_id, endpoints=[], version=0)


def _rewrite(user_id: str, change) -> Any:
    """`change(endpoints)` (a list it changes in place; it answers what the caller gets) saved on condition
    that nobody wrote the user's endpoints meanwhile (read again after losing a race)."""
    for _ in range(WRITE_ATTEMPTS):
        owner = _owner(user_id)
        read_version = int(owner.version or 0)
        endpoints = [dict(endpoint) for endpoint in owner.endpoints or []]
        result = change(endpoints)
        owner.endpoints, owner.version = endpoints, read_version + 1
        condition = WebhookEndpointsModel.user_id.does_not_exist() if read_version == 0 \
            else WebhookEndpointsModel.version == read_version
        try:
            with UnitOfWork() as work:
                work.save(owner, condition=condition)
        except TransactWriteError as error:
            if owner in failed_items(error):
                continue
            raise
        return result
    raise Conflict("The webhook endpoints kept changing meanwhile; try again", code="WEBHOOKS_CHANGED")


def create_endpoint(principal: Principal, url: str, events: list[str]) -> dict:
    """A new endpoint, with its signing secret: the only time the secret is shown."""
    problem = callback_url_problem(url, get_settings().allow_loopback_callbacks)
    if problem:
        raise field_error("url", "INVALID_URL", problem)
    endpoint = {"endpoint_id": str(uuid.uuid4()), "url": url, "events": list(dict.fromkeys(events)),
                "secret": signing.new_secret(), "status": rules.ACTIVE, "failing_since": None,
                "created_at": clock.now().isoformat()}

    def add(endpoints: list[dict]) -> dict:
        if len(endpoints) >= rules.MAX_ENDPOINTS:
            raise Conflict(f"At most {rules.MAX_ENDPOINTS} webhook endpoints", code="TOO_MANY_WEBHOOKS")
        endpoints.append(endpoint)
        return endpoint

    return view(_rewrite(principal.user_id, add), with_secret=True)


def view(endpoint: dict, with_secret: bool = False) -> dict:
    shown = {name: value for name, value in endpoint.items() if name != "secret"}
    if with_secret:
        shown["secret"] = endpoint["secret"]
    return shown


def list_endpoints(principal: Principal) -> list[dict]:
    return [view(endpoint) for endpoint in _owner(principal.user_id).endpoints or []]


def _endpoint(user_id: str, endpoint_id: str) -> dict:
    for endpoint in _owner(user_id).endpoints or []:
        if endpoint["endpoint_id"] == endpoint_id:
            return endpoint
    raise _not_found()


def delete_endpoint(principal: Principal, endpoint_id: str) -> None:
    def remove(endpoints: list[dict]) -> None:
        kept = [endpoint for endpoint in endpoints if endpoint["endpoint_id"] != endpoint_id]
        if len(kept) == len(endpoints):
            raise _not_found()
        endpoints[:] = kept

    _rewrite(principal.user_id, remove)


def send_test(principal: Principal, endpoint_id: str) -> dict:
    """A `webhook.test` event to the endpoint, delivered (and retried) as any event is."""
    endpoint = _endpoint(principal.user_id, endpoint_id)
    now = clock.now()
    event = {"type": rules.TEST_EVENT, "event_id": str(uuid.uuid4()), "occurred_at": now.isoformat(),
             "data": {"endpoint_id": endpoint_id}}
    message = _message(principal.user_id, endpoint, event, now)
    with UnitOfWork() as work:
        work.send(queues.WEBHOOKS, message)
    return {"delivery_id": message["delivery_id"], "event_id": event["event_id"]}


def list_deliveries(principal: Principal, endpoint_id: str, limit: int) -> list[WebhookDeliveryModel]:
    """The endpoint's deliveries, newest first, each with its attempts."""
    _endpoint(principal.user_id, endpoint_id)
    return list(WebhookDeliveryModel.query(endpoint_id, scan_index_forward=False, limit=limit))


# --- publishing (from the outbox) -----------------------------------------------------------------------

def _message(user_id: str, endpoint: dict, event: dict, first_at: datetime) -> dict:
    delivery = rules.delivery_id(event["event_id"], endpoint["endpoint_id"])
    return {"user_id": user_id, "endpoint_id": endpoint["endpoint_id"], "delivery_id": delivery,
            "delivery_key": f"{first_at.isoformat()}#{delivery}", "event": event, "attempt": 1,
            "first_at": first_at.isoformat(), "due_at": None}


def queue_deliveries(shares: dict[str, list[dict]], committed_at: datetime) -> int:
    """Each user's events (as published to their feeds) queued for each of their endpoints that wants
    them: one BatchGetItem finds every recipient's endpoints."""
    if not shares:
        return 0
    queued = 0
    for owner in WebhookEndpointsModel.batch_get(list(shares)):
        for endpoint in owner.endpoints or []:
            for event in shares[owner.user_id]:
                if rules.wants(endpoint, event["type"]):
                    queues.send(queues.WEBHOOKS, _message(owner.user_id, endpoint, event, committed_at))
                    queued += 1
    return queued


# --- one attempt (the webhooks queue's worker) -----------------------------------------------------------

def attempt(message: dict) -> str:
    """One attempt of a delivery, recorded with what follows it (the next try, or the end), once."""
    now = clock.now()
    due = message.get("due_at")
    if due and datetime.fromisoformat(due) > now:  # a wait longer than SQS delays: the next step of it
        queues.send(queues.WEBHOOKS, message, delay_seconds=_delay(datetime.fromisoformat(due), now))
        return "waiting"
    owner = _owner(message["user_id"])
    endpoint = next((e for e in owner.endpoints or [] if e["endpoint_id"] == message["endpoint_id"]), None)
    if endpoint is None:
        return "endpoint_deleted"
    delivery = _delivery(message)
    number = int(message["attempt"])
    if delivery is not None and (delivery.status != rules.PENDING or int(delivery.attempt_count or 0) >= number):
        return "done_already"  # SQS repeating a message
    if endpoint["status"] != rules.ACTIVE:
        _record(message, delivery, owner, endpoint, None, now, disabled=True)
        return "endpoint_disabled"
    body = json.dumps(message["event"], separators=(",", ":")).encode()
    sent = outbound.post(outbound.Request(endpoint["url"], body, {
        rules.EVENT_HEADER: message["event"]["type"], rules.DELIVERY_HEADER: message["delivery_id"],
        signing.HEADER: signing.header(endpoint["secret"], body, int(now.timestamp()))},
        get_settings().webhook_timeout_seconds))
    return _record(message, delivery, owner, endpoint, sent, now)


def _delivery(message: dict) -> WebhookDeliveryModel | None:
    try:
        return WebhookDeliveryModel.get(message["endpoint_id"], message["delivery_key"], consistent_read=True)
    except WebhookDeliveryModel.DoesNotExist:
        return None


def _record(message: dict, delivery: WebhookDeliveryModel | None, owner: WebhookEndpointsModel, endpoint: dict,
            sent: outbound.Sent | None, now: datetime, disabled: bool = False) -> str:
    settings = get_settings()
    number = int(message["attempt"])
    first_at = datetime.fromisoformat(message["first_at"])
    record = {"at": now.isoformat(), "status_code": sent.status if sent else None,
              "failure": (sent.failure if sent else "endpoint_disabled") if not (sent and sent.ok) else None,
              "elapsed_ms": sent.elapsed_ms if sent else 0}
    if record["failure"] is None and sent and not sent.ok:
        record["failure"] = "status"
    work = UnitOfWork()
    changed_endpoint = None
    if sent is not None and sent.ok:
        status, next_at = rules.DELIVERED, None
        if endpoint.get("failing_since"):
            changed_endpoint = {**endpoint, "failing_since": None}
    else:
        delay = rules.retry_delay(number, settings.webhook_retry_schedule)
        next_at = now + timedelta(seconds=delay)
        status = rules.FAILED if disabled or rules.gives_up(first_at, next_at, settings.webhook_retry_hours) \
            else rules.PENDING
        if status == rules.PENDING:
            work.send(queues.WEBHOOKS, {**message, "attempt": number + 1, "due_at": next_at.isoformat()},
                      delay_seconds=min(delay, MAX_QUEUE_DELAY))
        else:
            next_at = None
        failing_since = endpoint.get("failing_since")
        if not disabled and failing_since is None:
            changed_endpoint = {**endpoint, "failing_since": now.isoformat()}
        elif not disabled and rules.disables(datetime.fromisoformat(failing_since), now, settings.webhook_retry_hours):
            changed_endpoint = {**endpoint, "status": rules.DISABLED}
            notifications.send(work, owner.user_id, "webhook_disabled", "A webhook endpoint was disabled",
                               f"Every delivery to {endpoint['url']} has failed since {failing_since}: the endpoint "
                               f"is disabled. Fix it and register it again.", now)
    attempts = [*(delivery.attempts if delivery else []), record]
    item = delivery or WebhookDeliveryModel(
        endpoint_id=message["endpoint_id"], delivery_key=message["delivery_key"], delivery_id=message["delivery_id"],
        user_id=message["user_id"], event_type=message["event"]["type"], event_id=message["event"]["event_id"],
        created_at=first_at, purge_at=first_at + DELIVERY_LIFETIME)
    item.status, item.attempts, item.attempt_count, item.next_attempt_at = status, attempts, number, next_at
    work.save(item, condition=WebhookDeliveryModel.delivery_key.does_not_exist() if delivery is None
              else WebhookDeliveryModel.attempt_count == number - 1)
    if changed_endpoint is not None:
        owner.endpoints = [changed_endpoint if e["endpoint_id"] == endpoint["endpoint_id"] else e
                           for e in owner.endpoints]
        read_version = int(owner.version or 0)
        owner.version = read_version + 1
        work.save(owner, condition=WebhookEndpointsModel.version == read_version)
    try:
        work.commit()
    except TransactWriteError as error:
        if item in failed_items(error):
            logger.info("Webhook attempt recorded by another delivery", extra={"delivery_id": message["delivery_id"]})
            return "done_already"
        raise  # the endpoints changed meanwhile: SQS delivers the message again
    return status


def _delay(at: datetime, now: datetime) -> int:
    return max(0, min(MAX_QUEUE_DELAY, int((at - now).total_seconds() + 0.999)))

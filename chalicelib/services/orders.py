"""Orders of numbers: placed (and held for) at once, provisioned by the SQS worker, and finished by
a sweeper when provisioning stalls."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib import clock
from chalicelib.caller import Principal
from chalicelib.config import get_settings
from chalicelib.domain import numbers as rules
from chalicelib.domain import phones
from chalicelib.domain.errors import Conflict, FieldProblem, InvalidState, NotFound
from chalicelib.domain.ledger import HELD, hold, number_charge, release
from chalicelib.gateways import queues, twilio
from chalicelib.observability import logger
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.persistence.ledger import post
from chalicelib.persistence import counters
from chalicelib.persistence.base import shard_key, shard_keys
from chalicelib.persistence.tables import EVERYTHING, NumberModel, OrderModel, PhoneClaimModel, UserStatsModel
from chalicelib.persistence.tables.numbers import BILLABLE
from chalicelib.persistence.pagination import Page, paginate_index, paginate_shards, shard_pool
from chalicelib.services import analytics, rtb_pool
from chalicelib.services.access import listed_user

# The sweeper: an order still pending this long is queued again (its message was never sent, or is lost),
# and one pending this long is finished: what was not bought fails and its hold is released.
REQUEUE_AFTER = timedelta(minutes=5)
GIVE_UP_AFTER = timedelta(hours=1)
NOT_PROVISIONED = "Provisioning did not complete; the number was not bought"


def place_order(principal: Principal, items: list[dict]) -> OrderModel:
    """Create the order (with its items) and queue its provisioning. Refused before anything is
    bought when a number is already held here, or the account cannot pay for all of them."""
    now = clock.now()
    rtb_pool.ensure_may_route(principal, [(item.get("configuration") or {}).get("routing") for item in items])
    held = {c.phone_number for c in PhoneClaimModel.batch_get([i["phone_number"] for i in items])}
    if held:
        raise Conflict("Some numbers are already taken", code="NUMBER_NOT_AVAILABLE", details=[
            FieldProblem(f"numbers.{n}.phone_number", "NUMBER_NOT_AVAILABLE", "Phone number is not available")
            for n, item in enumerate(items) if item["phone_number"] in held])
    total = sum(_item_price(i) for i in items)
    order_id = str(uuid.uuid4())
    order = OrderModel(
        order_id=order_id, owner_id=principal.user_id, status=rules.ORDER_PENDING,
        items=[{**item, "status": rules.ITEM_PENDING} for item in items], total_price=total,
        created_at=now, updated_at=now, pending_key=shard_key(rules.ORDER_PENDING, order_id),
    )

    work = UnitOfWork()
    work.save(order, condition=OrderModel.order_id.does_not_exist())
    work.update(UserStatsModel(user_id=principal.user_id), actions=[UserStatsModel.orders.add(1)])
    counters.add_to_all(work, counters.ALL_ORDERS)
    # The order's total is held from the balance with the order itself: the credit limit counts every
    # order not yet provisioned, so two orders each within the balance cannot together exceed it (402).
    post(hold(f"order_hold:{order.order_id}", principal.user_id, total, f"Order {order.order_id}: numbers",
              order.order_id), now, work)
    try:
        _enqueue(order.order_id)
    except Exception:  # the order is placed and paid for: the sweeper queues it (REQUEUE_AFTER)
        logger.exception("Could not queue the order's provisioning", extra={"order_id": order.order_id})
    return order


def held_for_pending_orders() -> int:
    """What every unfinished order still holds: the price of each of its items not bought or failed yet
    (the sparse `pending` index, never a scan)."""
    found = shard_pool().map(lambda shard: [key.order_id for key in OrderModel.pending.query(shard)],
                             shard_keys(rules.ORDER_PENDING))  # every shard at once
    keys = [order_id for shard in found for order_id in shard]
    return sum(_item_price(item) for order in OrderModel.batch_get(keys, consistent_read=True)
               for item in order.items if item["status"] == rules.ITEM_PENDING)


def _item_price(item: dict) -> int:
    return rules.first_charge(phones.kind_of(item["phone_number"]))


def _enqueue(order_id: str) -> None:
    queues.send(queues.NUMBER_PROVISIONING, {"order_id": order_id})


def get_order(principal: Principal, order_id: str, with_numbers: bool = True) -> dict:
    try:
        order = OrderModel.get(order_id)
    except OrderModel.DoesNotExist:
        raise NotFound("Order not found", code="ORDER_NOT_FOUND") from None
    if order.owner_id != principal.user_id and not principal.is_admin:
        raise NotFound("Order not found", code="ORDER_NOT_FOUND")
    result = order_view(order)
    if with_numbers:
        ids = [i["number_id"] for i in order.items if i.get("number_id")]
        result["numbers"] = list(NumberModel.batch_get(ids)) if ids else []
    return result


def order_view(order: OrderModel) -> dict:
    """The order as it answers: its items, and each number's outcome as `results`."""
    view = {name: getattr(order, name) for name in order.get_attributes() if name != "pending_key"}
    view["results"] = [{"phone_number": item["phone_number"], "status": item["status"],
                        "error": item.get("reason"), "number_id": item.get("number_id")}
                       for item in order.items or []]
    return view


def list_orders(principal: Principal, page: int, limit: int, next_token: str | None,
                user_id: str | None = None) -> Page:
    """The caller's orders; an admin's are a named user's, or everyone's."""
    user = listed_user(principal, user_id)
    if user is None:
        listed = paginate_shards(OrderModel.everything, shard_keys(EVERYTHING),
                                 lambda: counters.value_of_all(counters.ALL_ORDERS), scope="all_orders", page=page,
                                 limit=limit, next_token=next_token)
    else:
        listed = paginate_index(OrderModel.by_owner, user.user_id, lambda: int(analytics.stats(user.user_id).orders),
                                scope=f"orders:{user.user_id}", page=page, limit=limit, next_token=next_token)
    listed.items = [order_view(o) for o in listed.items]
    return listed


# --- provisioning (the SQS worker) ----------------------------------------------------------

def provision_order(order_id: str) -> str:
    """Buy every pending number of the order, idempotently: a redelivered message never buys twice.
    A transient Twilio failure raises (SQS retries, then dead-letters); a permanent one fails the item."""
    order = OrderModel.get(order_id, consistent_read=True)
    for index, item in enumerate(order.items):
        if item["status"] != rules.ITEM_PENDING:
            continue
        try:
            _provision(order, index, item)
        except twilio.TwilioCallFailed as failure:
            if failure.failure.transient:
                raise
            _fail_item(order, index, error_code=failure.failure.code, reason=failure.product_error().message)
        except Conflict as taken:
            _fail_item(order, index, reason=taken.message)
    return order.status


def _number_id(order_id: str, phone_number: str) -> str:
    # Derived, not random: every delivery of the same order item names the same number.
    return str(uuid.uuid5(uuid.UUID(order_id), phone_number))


def _provision(order: OrderModel, index: int, item: dict) -> NumberModel:
    settings = get_settings()
    now = clock.now()
    phone_number = item["phone_number"]
    number_id = _number_id(order.order_id, phone_number)
    config = item.get("configuration") or {}
    routing = config.get("routing", rules.CUSTOM)
    voice_url = rules.voice_target(routing, config.get("voice_url"), settings.public_base_url)
    voice_method = config.get("voice_method", "POST")

    # What the account already owns first: a redelivery after a successful buy must not buy again.
    bought = twilio.find_owned(phone_number) or _buy(phone_number, item["friendly_name"], voice_url, voice_method)
    kind = phones.kind_of(phone_number)
    setup, monthly = rules.PRICES[kind]
    number = NumberModel(
        number_id=number_id, owner_id=order.owner_id, order_id=order.order_id, phone_number=phone_number,
        twilio_sid=bought["sid"], friendly_name=item["friendly_name"], number_type=kind,
        country_code=phones.country_of(phone_number) or "", region=phones.state_of(phone_number),
        locality=phones.locality_of(phone_number), status=rules.ACTIVE,
        owner_status=f"{order.owner_id}#{rules.ACTIVE}", routing=routing, voice_url=voice_url,
        voice_method=voice_method, call_type=config.get("call_type"), setup_price=setup, monthly_price=monthly,
        billed_through=rules.billing_period(now), billing_key=shard_key(BILLABLE, number_id), created_at=now, updated_at=now,
    )
    claim = PhoneClaimModel(phone_number=phone_number, number_id=number_id, owner_id=order.owner_id)
    try:
        with UnitOfWork() as work:
            work.save(number, condition=NumberModel.number_id.does_not_exist())
            work.save(claim, condition=PhoneClaimModel.phone_number.does_not_exist())
            work.update(UserStatsModel(user_id=order.owner_id), actions=[
                UserStatsModel.total_numbers.add(1), UserStatsModel.active_numbers.add(1)])
            counters.add_to_all(work, counters.ALL_NUMBERS)
            if routing == rules.RTB_POOL:
                rtb_pool.stage_membership(work, number, True, now)
    except TransactWriteError as error:
        failed = failed_items(error)
        number_exists, claimed = number in failed, claim in failed
        if claimed and not number_exists:
            # Another order got this number first (both were placed before either was provisioned).
            raise Conflict("Phone number is not available", code="NUMBER_NOT_AVAILABLE") from None
        if not number_exists:
            raise
        number = NumberModel.get(number_id, consistent_read=True)  # stored by an earlier delivery
    # The number is bought: captured from what was held for it when the order was placed, with the
    # spend counter and the item's success in the same transaction.
    actions, unchanged = _item_update(order, index, {"status": rules.ITEM_SUCCESS, "number_id": number_id})
    work = UnitOfWork()
    analytics.count_spend(work, order.owner_id, setup + monthly)
    work.update(OrderModel(order_id=order.order_id), actions=actions, condition=unchanged)
    try:
        post(number_charge(f"number_purchase:{number_id}", order.owner_id, setup + monthly,
                           f"Number {phone_number}: setup and first month", number_id, from_bucket=HELD),
             now, work, enforce_limits=False, replay_ok=False)
    except InvalidState:  # charged by an earlier delivery that did not get to record the item
        order.update(actions=actions, condition=unchanged)
    return number


def _buy(phone_number: str, friendly_name: str, voice_url: str | None, voice_method: str) -> dict:
    """Buy once (the gateway never repeats a buy). 21422 after a buy whose answer was lost means it is
    ours already: what the account owns decides, so a number bought at Twilio is never left orphaned."""
    try:
        return twilio.buy(phone_number, friendly_name, voice_url, voice_method)
    except twilio.TwilioCallFailed as failure:
        if failure.failure.code == 21422:
            owned = twilio.find_owned(phone_number)
            if owned:
                return owned
        raise


def _item_update(order: OrderModel, index: int, changes: dict) -> tuple[list, object]:
    """The update recording one item's outcome (and the order's, once no item is pending), and its
    condition: the order is as this delivery read it. Items are one attribute, so a concurrent writer
    (a second delivery, the sweeper) fails here instead of overwriting; SQS or the next sweep retries."""
    now = clock.now()
    unchanged = OrderModel.updated_at == order.updated_at
    order.items[index] = {**order.items[index], **changes}
    order.status = rules.order_status([i["status"] for i in order.items])
    order.updated_at = now
    actions = [OrderModel.items.set(order.items), OrderModel.status.set(order.status),
               OrderModel.updated_at.set(now)]
    if order.status != rules.ORDER_PENDING:
        actions += [OrderModel.completed_at.set(now), OrderModel.pending_key.remove()]  # leaves the sweeper's index
    return actions, unchanged


def _fail_item(order: OrderModel, index: int, **changes) -> None:
    """The item failed: its price goes back from held to the balance, with the item's status change."""
    item = order.items[index]
    actions, unchanged = _item_update(order, index, {**changes, "status": rules.ITEM_FAILED})
    posting = release(f"order_release:{order.order_id}:{index}", order.owner_id, _item_price(item),
                      f"Order {order.order_id}: {item['phone_number']} not bought", order.order_id)
    work = UnitOfWork()
    work.update(OrderModel(order_id=order.order_id), actions=actions, condition=unchanged)
    try:
        post(posting, clock.now(), work, replay_ok=False)
    except InvalidState:  # released by an earlier delivery that did not get to record the item
        order.update(actions=actions, condition=unchanged)
    logger.info("Number purchase failed", extra={"order_id": order.order_id, "reason": changes.get("reason")})


# --- stuck orders (scheduled) ------------------------------------------------------------------

def sweep_pending_orders(now: datetime) -> dict:
    """Orders still pending after REQUEUE_AFTER are queued again (idempotent: the worker checks what
    Twilio already has); after GIVE_UP_AFTER (e.g. the message dead-lettered) each pending item is
    settled: a success if the account owns the number after all, otherwise FAILED and its hold released.
    Reads the sparse `pending` index, which holds only unfinished orders: never a scan."""
    requeued = finished = 0
    due = (key for shard in shard_keys(rules.ORDER_PENDING)
           for key in OrderModel.pending.query(shard, OrderModel.created_at <= now - REQUEUE_AFTER))
    for key in due:
        order = OrderModel.get(key.order_id, consistent_read=True)
        if order.status != rules.ORDER_PENDING:
            continue
        try:
            if order.created_at <= now - GIVE_UP_AFTER:
                _finish(order)
                finished += 1
            elif order.updated_at <= now - REQUEUE_AFTER:  # not progressing (a worker on it writes items)
                _enqueue(order.order_id)
                requeued += 1
        except Exception:  # one order's trouble (Twilio down) must not stop the others; next run retries
            logger.exception("Could not sweep a pending order", extra={"order_id": order.order_id})
    return {"requeued": requeued, "finished": finished}


def _finish(order: OrderModel) -> None:
    for index, item in enumerate(order.items):
        if item["status"] != rules.ITEM_PENDING:
            continue
        if twilio.find_owned(item["phone_number"]):  # bought after all: store and charge it
            _provision(order, index, item)
        else:
            _fail_item(order, index, reason=NOT_PROVISIONED)
    logger.info("Stuck order finished", extra={"order_id": order.order_id, "status": order.status})

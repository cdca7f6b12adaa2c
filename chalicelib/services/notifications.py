"""Users' notification inboxes: delivered once per message, however often SQS repeats it."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from pynamodb.exceptions import TransactWriteError

from chalicelib.caller import Principal
from chalicelib.gateways import queues
from chalicelib.observability import logger
from chalicelib.persistence import counters
from chalicelib.persistence.unit_of_work import UnitOfWork, failed_items
from chalicelib.persistence.tables import NotificationModel
from chalicelib.persistence.pagination import Page, paginate

if TYPE_CHECKING:
    from chalicelib.schemas.notifications import NotificationMessage


def list_notifications(principal: Principal, page: int, limit: int, next_token: str | None) -> Page:
    user_id = principal.user_id

    def run(start_key, count):
        return NotificationModel.query(user_id, scan_index_forward=False, last_evaluated_key=start_key, limit=count)

    return paginate(run, lambda: counters.value(counters.notifications(user_id)), scope=f"notifications:{user_id}",
                    page=page, limit=limit, next_token=next_token)


def deliver(message: "NotificationMessage") -> bool:
    """Create-only write keyed by the producer's notification id: a redelivery is a no-op."""
    item = NotificationModel(
        user_id=message.user_id,
        notification_key=f"{message.created_at.isoformat()}#{message.notification_id}",
        notification_id=message.notification_id,
        kind=message.kind,
        subject=message.subject,
        message=message.message,
        created_at=message.created_at,
    )
    try:
        with UnitOfWork() as work:
            work.save(item, condition=NotificationModel.notification_key.does_not_exist())
            counters.add(work, counters.notifications(message.user_id))
    except TransactWriteError as error:
        if item not in failed_items(error):
            raise
        logger.info("Duplicate notification ignored", extra={"notification_id": message.notification_id})
        return False
    return True


def send(work: UnitOfWork, user_id: str, kind: str, subject: str, message: str, now: datetime) -> None:
    """A message to a user's inbox, owed by the change `work` makes: through the notifications queue once
    the change has committed (its worker writes it once)."""
    work.send(queues.NOTIFICATIONS, {
        "notification_id": str(uuid.uuid4()), "user_id": user_id, "kind": kind,
        "subject": subject, "message": message, "created_at": now.isoformat(),
    })

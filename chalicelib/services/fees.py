"""Monthly number fees (scheduled)."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain import numbers as rules
from chalicelib.domain.errors import PaymentRequired
from chalicelib.domain.ledger import number_charge
from chalicelib.observability import logger
from chalicelib.persistence.ledger import post
from chalicelib.persistence.base import shard_keys
from chalicelib.persistence.tables import NumberModel
from chalicelib.persistence.tables.numbers import BILLABLE
from chalicelib.persistence.unit_of_work import UnitOfWork
from chalicelib.services import analytics


def charge_monthly_fees(now: datetime) -> dict[str, int]:
    """Charge each active number once per billing period, the charge and the period it pays for in one unit
    (idempotent: the posting is keyed by number and period). A fee its owner's balance cannot pay, down
    to the credit limit, suspends the number instead of taking the account below it; each run tries again,
    and the fee once paid brings the number back."""
    period = rules.billing_period(now)
    outcome = {"charged": 0, "suspended": 0}
    keys = (key for shard in shard_keys(BILLABLE) for key in NumberModel.billable.query(shard))
    for key in keys:
        number = NumberModel.get(key.number_id)
        if number.billed_through >= period:
            continue
        work = UnitOfWork()
        analytics.count_spend(work, number.owner_id, number.monthly_price)
        work.update(number, actions=[NumberModel.billed_through.set(period), NumberModel.fee_due_since.remove()])
        try:
            post(number_charge(f"number_monthly:{number.number_id}:{period}", number.owner_id, number.monthly_price,
                               f"Number {number.phone_number}: monthly fee {period}", number.number_id),
                 now, work)
            outcome["charged"] += 1
        except PaymentRequired:
            if number.fee_due_since is None:
                number.update(actions=[NumberModel.fee_due_since.set(now)])
                logger.info("Number suspended for an unpaid fee", extra={"number_id": number.number_id})
            outcome["suspended"] += 1
    return outcome

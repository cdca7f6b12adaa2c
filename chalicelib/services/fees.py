"""Monthly number fees (scheduled)."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain import numbers as rules
from chalicelib.domain.ledger import number_charge
from chalicelib.persistence.ledger import post
from chalicelib.persistence.tables import NumberModel
from chalicelib.persistence.unit_of_work import UnitOfWork
from chalicelib.services import analytics


def charge_monthly_fees(now: datetime) -> int:
    """Charge each active number once per billing period. Idempotent: the posting is keyed by number
    and period, so a second run in the same period charges nothing."""
    period = rules.billing_period(now)
    charged = 0
    for key in NumberModel.billable.query("ACTIVE"):
        number = NumberModel.get(key.number_id)
        if number.billed_through >= period:
            continue
        work = UnitOfWork()
        analytics.count_spend(work, number.owner_id, number.monthly_price)
        post(number_charge(f"number_monthly:{number.number_id}:{period}", number.owner_id, number.monthly_price,
                           f"Number {number.phone_number}: monthly fee {period}", number.number_id),
             now, work, enforce_limits=False)
        number.update(actions=[NumberModel.billed_through.set(period)])
        charged += 1
    return charged

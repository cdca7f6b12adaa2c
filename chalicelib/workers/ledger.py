"""The books' audit: every account summed against the kept totals (asked for by POST /admin/ledger/audit)."""
from __future__ import annotations

import json

from chalice import Blueprint

from chalicelib.gateways.queues import LEDGER_AUDIT
from chalicelib.services.admin import run_audit
from chalicelib.workers import process_records

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=LEDGER_AUDIT, batch_size=1)
def audit_ledger(event):
    return process_records(event, _audit)


def _audit(record) -> None:
    run_audit(json.loads(record.body)["admin_id"])

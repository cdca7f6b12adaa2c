"""The weekly auto-withdrawal: everything available, for the buyers who turned it on."""
from chalice import Blueprint, Rate

from chalicelib import clock
from chalicelib.observability import logger
from chalicelib.services.payouts import withdraw_available_earnings

bp = Blueprint(__name__)


@bp.schedule(Rate(7, unit=Rate.DAYS))
def auto_withdraw(event):
    outcome = withdraw_available_earnings(clock.now())
    logger.info("Auto-withdrawals", extra=outcome)
    return outcome

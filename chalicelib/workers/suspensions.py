"""Lifts timed suspensions whose end has passed."""
from chalice import Blueprint, Rate

from chalicelib import clock
from chalicelib.observability import logger
from chalicelib.services.admin import lift_expired_suspensions

bp = Blueprint(__name__)


@bp.schedule(Rate(5, unit=Rate.MINUTES))
def lift_suspensions(event):
    lifted = lift_expired_suspensions(clock.now())
    logger.info("Lifted expired suspensions", extra={"lifted": lifted})
    return {"lifted": lifted}

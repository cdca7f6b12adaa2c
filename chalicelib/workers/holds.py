"""Every hold ends: the calls whose seller's money is held past their bound are ended (services/holds.py)."""
from chalice import Blueprint, Rate

from chalicelib import clock
from chalicelib.services.holds import end_overdue

bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.MINUTES))
def end_overdue_holds(event):
    return end_overdue(clock.now())

"""Every hold ends: the calls whose seller's money is held past their bound are ended (services/holds.py), and
the RTB reservations past their expiry are released (services/rtb_pool.py)."""
from chalice import Blueprint, Rate

from chalicelib import clock
from chalicelib.services import rtb_pool
from chalicelib.services.holds import end_overdue

bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.MINUTES))
def end_overdue_holds(event):
    now = clock.now()
    outcomes = end_overdue(now)
    released = rtb_pool.release_expired(now)
    if released:
        outcomes["reservations_released"] = released
    return outcomes

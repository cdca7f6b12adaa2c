"""Rules of the number store: prices, billing periods, order outcomes, where calls go."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.money import MINOR_PER_UNIT

LOCAL, TOLL_FREE, MOBILE = "local", "toll_free", "mobile"
KINDS = (LOCAL, TOLL_FREE, MOBILE)  # the kinds of number the store sells
# (setup, monthly) in minor units, per kind of number.
PRICES = {
    LOCAL: (1 * MINOR_PER_UNIT, 15_000),  # $1.00 setup, $1.50 a month
    MOBILE: (1 * MINOR_PER_UNIT, 15_000),
    TOLL_FREE: (1 * MINOR_PER_UNIT, 30_000),  # $1.00 setup, $3.00 a month
}
MAX_PER_ORDER = 10

ITEM_PENDING, ITEM_SUCCESS, ITEM_FAILED = "PENDING", "SUCCESS", "FAILED"
ORDER_PENDING, ORDER_COMPLETED, ORDER_PARTIAL, ORDER_FAILED = (
    "PENDING", "COMPLETED", "PARTIALLY_COMPLETED", "FAILED")
ACTIVE, RELEASED = "ACTIVE", "RELEASED"  # as seed 000 spells them, stored and on the wire
# Where a number's calls go: the owner's voice_url (custom), an auction on the exchange, or (a platform number
# admins buy) the seller an inbound RTB ping reserved for its caller.
CUSTOM, EXCHANGE, RTB_POOL = "custom", "exchange", "rtb_pool"
ROUTINGS = (CUSTOM, EXCHANGE, RTB_POOL)
EXCHANGE_ROUTED = (EXCHANGE, RTB_POOL)  # numbers whose calls come to the exchange's voice webhook
# Twilio's webhooks on the exchange: a call arriving, a Dial's outcome, a dialed leg's progress, a recording's.
EXCHANGE_VOICE_PATH = "/api/v1/webhooks/twilio/voice"
DIAL_ACTION_PATH = "/api/v1/webhooks/twilio/dial"
STATUS_CALLBACK_PATH = "/api/v1/webhooks/twilio/status"
RECORDING_CALLBACK_PATH = "/api/v1/webhooks/twilio/recording"


# What a number can carry, as search results show it: each true or false.
CAPABILITIES = ("voice", "sms", "mms")


def capabilities_of(reported: dict | None) -> dict[str, bool]:
    """Twilio's capabilities of a number ({"voice": true, "SMS": true, "MMS": false, "fax": false} for an
    available number, lower-case keys for an owned one) as {voice, sms, mms}: any case, absent is false."""
    given = {str(name).lower(): value for name, value in (reported or {}).items()}
    return {name: given.get(name) is True for name in CAPABILITIES}


def first_charge(kind: str) -> int:
    """What buying a number costs now: setup plus the first month."""
    setup, monthly = PRICES[kind]
    return setup + monthly


def billing_period(now: datetime) -> str:
    return f"{now.year:04d}-{now.month:02d}"


def order_status(item_statuses: list[str]) -> str:
    if ITEM_PENDING in item_statuses:
        return ORDER_PENDING
    succeeded = item_statuses.count(ITEM_SUCCESS)
    if succeeded == len(item_statuses):
        return ORDER_COMPLETED
    return ORDER_PARTIAL if succeeded else ORDER_FAILED


def voice_target(routing: str, voice_url: str | None, public_base_url: str) -> str | None:
    """Where Twilio sends the number's calls: the user's own URL, or the exchange's voice webhook."""
    return f"{public_base_url}{EXCHANGE_VOICE_PATH}" if routing in EXCHANGE_ROUTED else voice_url

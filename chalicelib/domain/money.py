"""Money is integer minor units: 1 USD = 10,000 minor units. Never floats."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

MINOR_PER_UNIT = 10_000
CURRENCY = "USD"
_QUANTUM = Decimal("0.0001")


class ExponentNumber(Decimal):
    """A JSON number written with an exponent ("1e2"): its value, marked, because no amount of the API is
    documented in that form (the request parser makes these; money types refuse them)."""


def to_minor(amount: Decimal | str | int) -> int:
    """Exact conversion; refuses more than 4 decimal places instead of rounding money away."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise ValueError("not a decimal amount") from exc
    if not value.is_finite():
        raise ValueError("not a finite amount")
    minor = value * MINOR_PER_UNIT
    if minor != minor.to_integral_value():
        raise ValueError("at most 4 decimal places")
    return int(minor)


def format_money(minor: int) -> str:
    """'12.50' or '0.0125': at least 2 places, at most 4, as a decimal string."""
    value = (Decimal(minor) / MINOR_PER_UNIT).quantize(_QUANTUM)
    text = f"{value:.4f}"
    whole, frac = text.split(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}.{frac}"

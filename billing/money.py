"""Money: integer minor units stored, Decimal computed, one documented rounding rule.

The rounding rule of every invoice
----------------------------------
* Amounts are computed in ``Decimal`` minor units (cents), never in floats.
* Each invoice line is rounded **once**, to a whole minor unit, with ``ROUND_HALF_UP``
  (a half goes away from zero: 2.5 -> 3, -2.5 -> -3): usage above the included amount
  (quantity x overage price), a proration, a fee.
* The subtotal is the sum of the rounded lines (it is never rounded again).
* A percentage coupon is computed once on the subtotal and rounded once; an amount
  coupon is exact.  A discount never exceeds the subtotal.
* Tax is computed **once** on (subtotal - discount) at the customer's rate and
  rounded once; it is not the sum of per-line taxes.
* total = subtotal - discount + tax; amount due = total - credits applied.

So a customer can re-add any invoice by hand: every figure is a sum of whole minor
units shown on it, except the two rounded products (discount percent, tax) whose
inputs are shown too.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ONE = Decimal(1)
HUNDRED = Decimal(100)

#: ISO 4217 currencies whose minor unit is not the cent (default: 2 decimals).
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}


def to_minor(value) -> int:
    """``value`` (minor units, possibly fractional) rounded once, half up, to an int."""
    return int(Decimal(value).quantize(ONE, rounding=ROUND_HALF_UP))


def percent_of(amount, percent) -> int:
    """``percent`` % of ``amount`` minor units, rounded once (tax, percentage coupons)."""
    return to_minor(Decimal(amount) * Decimal(percent) / HUNDRED)


def exponent(currency: str) -> int:
    return _EXPONENTS.get((currency or "").upper(), 2)


def to_major(minor: int, currency: str) -> Decimal:
    """Minor units as the currency's major unit, exactly (1234 USD -> 12.34)."""
    return Decimal(int(minor)).scaleb(-exponent(currency))


def format_money(minor: int, currency: str) -> str:
    """For people: ``USD 1,234.56``, ``USD -5.00``, ``JPY 1,200``."""
    places = exponent(currency)
    return f"{(currency or '').upper()} {to_major(minor, currency):,.{places}f}"

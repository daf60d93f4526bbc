"""Small helpers the report queries share: periods, rounding, shares and growth.

The heavy lifting (GROUP BY, sums, window functions) happens in the database;
these helpers only shape the few aggregated values a query returns.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Func
from django.db.models.functions import TruncMonth, TruncQuarter

TONNES = Decimal("0.001")  # tonnes: 3 decimals (kg precision)
PERCENT = Decimal("0.1")  # shares and growth: 1 decimal
GROUPINGS = {"month": TruncMonth, "quarter": TruncQuarter}
MONTHS_PER_PERIOD = {"month": 1, "quarter": 3}


def trunc_period(field: str, grouping: str) -> Func:
    """``TruncMonth``/``TruncQuarter`` of a date field, by ``params.grouping``."""
    try:
        return GROUPINGS[grouping](field)
    except KeyError:
        raise ValueError(f"Unknown grouping {grouping!r}: use month or quarter.") from None


def to_date(value) -> date:
    """Trunc* over a DateField gives a date (a datetime on some backends): normalise."""
    return value.date() if hasattr(value, "date") else value


def previous_period(start: date, grouping: str) -> date:
    """The first day of the period before the one starting on ``start``."""
    months = start.year * 12 + start.month - 1 - MONTHS_PER_PERIOD[grouping]
    return date(months // 12, months % 12 + 1, 1)


def period_label(start: date, grouping: str) -> str:
    """``2025-03`` for a month, ``2025-Q1`` for a quarter."""
    start = to_date(start)
    if grouping == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


def tonnes(value) -> Decimal:
    """A weight rounded to 3 decimals; ``None`` (an empty sum) is 0."""
    return Decimal(value or 0).quantize(TONNES, rounding=ROUND_HALF_UP)


def percent(value) -> Decimal:
    return Decimal(value).quantize(PERCENT, rounding=ROUND_HALF_UP)


def share(part, total) -> Decimal | None:
    """``part`` as a percentage of ``total``; ``None`` when the total is 0."""
    total = Decimal(total or 0)
    if not total:
        return None
    return percent(Decimal(part or 0) * 100 / total)


def growth(current, previous) -> Decimal | None:
    """Change from ``previous`` to ``current`` in %; ``None`` when previous is 0 or missing."""
    if previous is None or Decimal(previous) == 0:
        return None
    previous = Decimal(previous)
    return percent((Decimal(current or 0) - previous) * 100 / previous)


def lagged(previous, previous_start, start, grouping: str):
    """A ``Lag`` value, or ``None`` unless the lagged row is the period just before ``start``.

    ``Lag`` returns the previous *row*: when a period has no sales, the row before
    is an older period, which is not "the previous period" (so: missing).
    """
    if previous_start is None:
        return None
    if to_date(previous_start) != previous_period(to_date(start), grouping):
        return None
    return previous


def safe_key(text: str) -> str:
    """A file-name safe key (letters, digits, ``_``) made from a data value."""
    key = re.sub(r"[^A-Za-z0-9]+", "_", str(text)).strip("_").lower()
    return key or "blank"

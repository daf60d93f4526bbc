"""Billing periods as pure functions: where a period ends, and how much of it is left.

A period is ``[start, end)``.  A monthly period ends on the same day of the next month,
clamped to the month's last day (31 Jan -> 28/29 Feb); the *anchor day* (the day the
subscription started, kept in ``Subscription.metadata["anchor_day"]``) is what keeps a
subscription started on the 31st on the 31st again after a short month (31 Jan -> 29 Feb
-> 31 Mar), instead of drifting to the 28th or 29th for ever.  A yearly period ends on
the same date next year (29 Feb -> 28 Feb, back to 29 Feb in a leap year by the anchor).

Proration is by calendar days in UTC (Stripe prorates by the second; customers read
invoices in days, and a day count is what a person can check by hand):
``remaining = end.date() - at.date()``, ``total = end.date() - start.date()``.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from decimal import Decimal

MONTH, YEAR = "month", "year"
INTERVALS = (MONTH, YEAR)


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def add_interval(start: datetime, interval: str, anchor_day: int | None = None) -> datetime:
    """The end of the period of ``interval`` that begins at ``start``.

    The time of day and time zone are kept; the day is ``anchor_day`` (default: the
    start's own day) clamped to the last day of the target month.
    """
    if interval not in INTERVALS:
        raise ValueError(f"Unknown billing interval {interval!r}; expected one of {INTERVALS}.")
    day = anchor_day or start.day
    if not 1 <= day <= 31:
        raise ValueError(f"An anchor day is between 1 and 31, not {day}.")
    if interval == MONTH:
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    else:
        year, month = start.year + 1, start.month
    return start.replace(year=year, month=month, day=min(day, _last_day(year, month)))


def utc_date(moment: datetime) -> date:
    """The calendar date of ``moment`` in UTC (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(UTC).date()


def days_between(start: datetime, end: datetime) -> int:
    """Whole calendar days (UTC) from ``start`` to ``end``; never negative."""
    return max((utc_date(end) - utc_date(start)).days, 0)


def remaining_days(period_start: datetime, period_end: datetime, at: datetime) -> tuple[int, int]:
    """``(remaining, total)`` calendar days of ``[period_start, period_end)`` seen at ``at``
    (remaining clamped to ``0..total``)."""
    total = days_between(period_start, period_end)
    remaining = (utc_date(period_end) - utc_date(at)).days
    return min(max(remaining, 0), total), total


def proration_fraction(period_start: datetime, period_end: datetime, at: datetime) -> Decimal:
    """The share of the period still to run at ``at``: remaining days / days in the period
    (0 for an empty period).  Multiply a price by ``remaining`` and divide by ``total``
    rather than by this fraction when exactness matters (one rounding, not two)."""
    remaining, total = remaining_days(period_start, period_end, at)
    if total == 0:
        return Decimal(0)
    return Decimal(remaining) / Decimal(total)

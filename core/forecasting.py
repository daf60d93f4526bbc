"""Forecast arithmetic shared by the apps: pure functions over short aggregated series.

Callers aggregate in the database (one value per month or per day) and pass the series
here; nothing in this module touches a model or imports an app.

Methods
-------
* **Seasonal naive** when the series covers at least two seasons' worth of points
  for daily use and one for monthly (see ``method_for``): the forecast for a step is
  the actual one season earlier (``F[n+h] = y[n+h-season]``, repeating the last season).
* **Simple exponential smoothing** (SES) otherwise, alpha = 0.5:
  ``level[0] = y[0]``, ``level[t] = 0.5*y[t] + 0.5*level[t-1]``; every future step is
  forecast at the final level (no trend, no season).  0.5 weights the last point at one
  half, the one before at a quarter, and so on: responsive on short, noisy series.
* **Holdout error.** The last ``holdout`` points are held back; the method is chosen and
  fitted on the points before them, forecast over the holdout and compared with the
  actuals: MAE = mean |actual - forecast|; MAPE = mean |actual - forecast| / actual x 100
  over the held-back points whose actual is not 0 (None when all are 0).  No error is
  reported when fewer than one point would be left to fit on.
* **Month-end projection** (``month_end``) from a daily series: what the month has cost
  so far plus the forecast of each day left, with the holdout error of the same method
  on the last days of the history.

Decimal in, Decimal out.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

SEASON = 12  # months in a year: the monthly season
WEEK = 7  # days in a week: the daily season
ALPHA = Decimal("0.5")
SEASONAL_NAIVE = "seasonal_naive"
SES = "ses"
#: Days held back to measure a month-end projection's error.
DAILY_HOLDOUT = 7


def add_months(start: date, months: int) -> date:
    """The first day of the month ``months`` after (or before) ``start``'s month."""
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_label(start: date) -> str:
    return f"{start.year}-{start.month:02d}"


def month_days(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def method_for(length: int, season: int = SEASON) -> str:
    # A weekly pattern read off a single week is mostly noise: daily series need two.
    needed = season if season == SEASON else 2 * season
    return SEASONAL_NAIVE if length >= needed else SES


def seasonal_naive(history: Sequence[Decimal], horizon: int,
                   season: int = SEASON) -> list[Decimal]:
    last = list(history[-season:])
    return [Decimal(last[h % season]) for h in range(horizon)]


def ses(history: Sequence[Decimal], horizon: int, alpha: Decimal = ALPHA) -> list[Decimal]:
    if not history:
        return [Decimal(0)] * horizon
    level = Decimal(history[0])
    for value in history[1:]:
        level = alpha * Decimal(value) + (1 - alpha) * level
    return [level] * horizon


def predict(history: Sequence[Decimal], horizon: int,
            season: int = SEASON) -> tuple[str, list[Decimal]]:
    """``(method, forecast)`` for the next ``horizon`` steps of ``history``."""
    method = method_for(len(history), season)
    if method == SEASONAL_NAIVE:
        return method, seasonal_naive(history, horizon, season)
    return method, ses(history, horizon)


@dataclass(frozen=True)
class HoldoutError:
    method: str  # the method fitted on the shortened series
    actual: tuple[Decimal, ...]
    forecast: tuple[Decimal, ...]
    mae: Decimal
    mape: Decimal | None  # percent; None when every held-back actual is 0


def holdout_error(history: Sequence[Decimal], holdout: int,
                  season: int = SEASON) -> HoldoutError | None:
    if holdout < 1 or len(history) - holdout < 1:
        return None
    train, actual = list(history[:-holdout]), [Decimal(v) for v in history[-holdout:]]
    method, forecast = predict(train, holdout, season)
    errors = [abs(a - f) for a, f in zip(actual, forecast, strict=True)]
    ratios = [e / a for e, a in zip(errors, actual, strict=True) if a != 0]
    mape = sum(ratios, Decimal(0)) * 100 / len(ratios) if ratios else None
    return HoldoutError(method, tuple(actual), tuple(forecast),
                        sum(errors, Decimal(0)) / len(errors), mape)


@dataclass(frozen=True)
class MonthEnd:
    month: date  # the first day of the projected month
    today: date
    method: str
    to_date: Decimal  # the month's actual so far, today's partial day included
    remaining: Decimal  # what the forecast adds until the month ends
    daily: tuple[Decimal, ...]  # the forecast for today and each day after it
    error: HoldoutError | None  # per day, on the last ``holdout`` complete days

    @property
    def projected(self) -> Decimal:
        return self.to_date + self.remaining


def month_end(history: Sequence[Decimal], today: date, *, today_so_far: Decimal = Decimal(0),
              holdout: int = DAILY_HOLDOUT) -> MonthEnd:
    """Project ``today``'s month to its last day.

    ``history`` holds one value per complete day, ending yesterday (it may reach back
    into earlier months: more history, better fit); ``today_so_far`` is the partial day.
    The forecast covers today and every day after it; today adds only what the forecast
    expects beyond what it has already cost, so a busy morning is never subtracted.
    """
    first = today.replace(day=1)
    days_in_month_before_today = (today - first).days
    this_month = list(history[-days_in_month_before_today:]) if days_in_month_before_today \
        else []
    to_date = sum((Decimal(v) for v in this_month), Decimal(0)) + today_so_far
    horizon = month_days(today) - today.day + 1
    method, daily = predict(history, horizon, WEEK)
    remaining = max(daily[0] - today_so_far, Decimal(0)) + sum(daily[1:], Decimal(0))
    return MonthEnd(first, today, method, to_date, remaining, tuple(daily),
                    holdout_error(history, holdout, WEEK))


def days(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end`` inclusive (empty when ``end`` is earlier)."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]

"""A definition's parameters: validated on save, resolved into ``ReportParameters`` per run.

A definition stores the JSON its author wrote (``{"period": "previous_month",
"states": ["PR"]}``); a run stores what it used (``ReportParameters.to_dict()``,
with the relative ``period`` turned into concrete dates).  Every key is
optional; unknown keys and bad values are refused with a message naming them,
so the API answers 400, never 500.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from .data import ReportParameters
from .queries.common import GROUPINGS

#: Relative periods, resolved against the run's date (a scheduled run: its slot's
#: date in the schedule's time zone).  "previous" periods are the last complete
#: ones; "to date" periods end on the run's date; "last N" end the day before it.
PERIODS = {
    "previous_day": "The day before",
    "previous_week": "The previous week (Monday to Sunday)",
    "previous_month": "The previous calendar month",
    "previous_quarter": "The previous calendar quarter",
    "previous_year": "The previous calendar year",
    "week_to_date": "This week so far",
    "month_to_date": "This month so far",
    "quarter_to_date": "This quarter so far",
    "year_to_date": "This year so far",
    "last_7_days": "The 7 days before",
    "last_30_days": "The 30 days before",
    "last_90_days": "The 90 days before",
    "last_12_months": "The 12 complete months before this one",
}
LISTS = ("clients", "states", "skus", "product_groups")
INTEGERS = {"top_n": (1, 100), "forecast_months": (1, 24), "holdout_months": (0, 24)}
MONTHS = ("overstock_months", "reorder_months")
KEYS = ("period", "date_from", "date_to", *LISTS, "grouping", *INTEGERS, *MONTHS)
MAX_ITEMS = 500


def parameters_validate(raw: Any) -> None:
    """Raise ``ValidationError`` (a list of messages) unless ``raw`` is usable."""
    if not isinstance(raw, dict):
        raise ValidationError("Parameters are a JSON object, e.g. {\"period\": "
                              "\"previous_month\"}.", code="invalid")
    problems = [f"{key}: {message}" for key, message in _problems(raw)]
    if problems:
        raise ValidationError(problems, code="invalid")


def parameters_resolve(raw: dict | None, today: date) -> ReportParameters:
    """The parameters a run uses: ``period`` becomes dates relative to ``today``."""
    raw = dict(raw or {})
    period = raw.pop("period", None)
    if period:
        raw["date_from"], raw["date_to"] = period_dates(period, today)
    if raw.get("states"):
        raw["states"] = [str(state).strip().upper() for state in raw["states"]]
    if raw.get("clients"):
        raw["clients"] = [int(code) for code in raw["clients"]]
    return ReportParameters.from_dict(raw)


def period_dates(period: str, today: date) -> tuple[date, date]:
    yesterday = today - timedelta(days=1)
    month_start = today.replace(day=1)
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    week_start = today - timedelta(days=today.weekday())
    if period == "previous_day":
        return yesterday, yesterday
    if period == "previous_week":
        return week_start - timedelta(days=7), week_start - timedelta(days=1)
    if period == "previous_month":
        return _add_months(month_start, -1), month_start - timedelta(days=1)
    if period == "previous_quarter":
        return _add_months(quarter_start, -3), quarter_start - timedelta(days=1)
    if period == "previous_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    if period == "week_to_date":
        return week_start, today
    if period == "month_to_date":
        return month_start, today
    if period == "quarter_to_date":
        return quarter_start, today
    if period == "year_to_date":
        return date(today.year, 1, 1), today
    if period.startswith("last_") and period.endswith("_days") and period in PERIODS:
        days = int(period.split("_")[1])
        return today - timedelta(days=days), yesterday
    if period == "last_12_months":
        return _add_months(month_start, -12), month_start - timedelta(days=1)
    raise ValueError(f"Unknown period {period!r}.")


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _problems(raw: dict):
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        yield ", ".join(unknown), f"unknown parameter; use any of {', '.join(KEYS)}."
    period = raw.get("period")
    if period not in (None, ""):
        if period not in PERIODS:
            yield "period", f"{period!r} is not one of {', '.join(PERIODS)}."
        elif raw.get("date_from") or raw.get("date_to"):
            yield "period", "give either a period or date_from/date_to, not both."
    dates = {}
    for key in ("date_from", "date_to"):
        value = raw.get(key)
        if value in (None, ""):
            continue
        try:
            dates[key] = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            dates[key] = None
        if dates[key] is None:
            yield key, f"{value!r} is not a date (YYYY-MM-DD)."
    if dates.get("date_from") and dates.get("date_to") and dates["date_from"] > dates["date_to"]:
        yield "date_to", "is before date_from."
    for key in LISTS:
        yield from _list_problems(key, raw.get(key))
    grouping = raw.get("grouping")
    if grouping not in (None, "") and grouping not in GROUPINGS:
        yield "grouping", f"{grouping!r} is not one of {', '.join(GROUPINGS)}."
    for key, (low, high) in INTEGERS.items():
        value = raw.get(key)
        if value in (None, ""):
            continue
        if isinstance(value, bool) or not isinstance(value, int | str) or \
                not str(value).strip().lstrip("-").isdigit():
            yield key, f"{value!r} is not a whole number."
        elif not low <= int(value) <= high:
            yield key, f"must be between {low} and {high}."
    months = {}
    for key in MONTHS:
        value = raw.get(key)
        if value in (None, ""):
            continue
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise InvalidOperation
            months[key] = Decimal(str(value))
            if not months[key].is_finite():
                raise InvalidOperation
        except InvalidOperation:
            yield key, f"{value!r} is not a number."
            continue
        if not Decimal(0) <= months[key] <= Decimal(120):
            yield key, "must be between 0 and 120 months."
    if "overstock_months" in months and "reorder_months" in months and \
            months["reorder_months"] >= months["overstock_months"]:
        yield "reorder_months", "must be below overstock_months."


def _list_problems(key: str, value):
    if value in (None, ""):
        return
    if not isinstance(value, list):
        yield key, "must be a list, e.g. [\"A\", \"B\"]."
        return
    if len(value) > MAX_ITEMS:
        yield key, f"at most {MAX_ITEMS} values."
    for item in value:
        if key == "clients":
            if isinstance(item, bool) or not isinstance(item, int | str) or \
                    not str(item).strip().isdigit():
                yield key, f"{item!r} is not a client code (a whole number)."
                return
        elif not isinstance(item, str) or not item.strip() or len(item) > 100:
            yield key, f"{item!r} is not a text value (1 to 100 characters)."
            return

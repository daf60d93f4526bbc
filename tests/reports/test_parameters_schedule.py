"""Definition parameters (validation, relative periods) and cron schedules (slots, next run).

No database: both are pure functions of their input and the clock they are given.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from celery.schedules import crontab
from django.core.exceptions import ValidationError

from reports.parameters import PERIODS, parameters_resolve, parameters_validate, period_dates
from reports.schedule import next_fire, parse, previous_fire, validate_cron

# --- parameters ---------------------------------------------------------------------------


def test_valid_parameters_pass():
    parameters_validate({})
    parameters_validate({"period": "previous_month", "clients": [101, "202"], "states": ["PR"],
                         "skus": ["CZN-0.80X1500"], "product_groups": ["ZINCADO"],
                         "grouping": "quarter", "top_n": 5, "forecast_months": "6",
                         "holdout_months": 0, "overstock_months": "6.5",
                         "reorder_months": 1})
    parameters_validate({"date_from": "2025-01-01", "date_to": "2025-01-31"})


@pytest.mark.parametrize(("raw", "named"), [
    ({"colour": "red"}, "colour: unknown parameter"),
    ({"period": "last_century"}, "period: 'last_century' is not one of"),
    ({"period": "previous_month", "date_from": "2025-01-01"}, "period: give either"),
    ({"date_from": "2025-02-30"}, "date_from: '2025-02-30' is not a date"),
    ({"date_from": 20250101}, "date_from: 20250101 is not a date"),
    ({"date_from": "2025-03-01", "date_to": "2025-01-01"}, "date_to: is before date_from"),
    ({"clients": "101"}, "clients: must be a list"),
    ({"clients": ["abc"]}, "clients: 'abc' is not a client code"),
    ({"clients": [True]}, "clients: True is not a client code"),
    ({"states": [""]}, "states: '' is not a text value"),
    ({"skus": [{"a": 1}]}, "skus: {'a': 1} is not a text value"),
    ({"grouping": "week"}, "grouping: 'week' is not one of month, quarter"),
    ({"top_n": "ten"}, "top_n: 'ten' is not a whole number"),
    ({"top_n": 0}, "top_n: must be between 1 and 100"),
    ({"top_n": 2.5}, "top_n: 2.5 is not a whole number"),
    ({"forecast_months": 99}, "forecast_months: must be between 1 and 24"),
    ({"overstock_months": "many"}, "overstock_months: 'many' is not a number"),
    ({"overstock_months": "NaN"}, "overstock_months: 'NaN' is not a number"),
    ({"reorder_months": -1}, "reorder_months: must be between 0 and 120"),
    ({"overstock_months": 1, "reorder_months": 2}, "reorder_months: must be below"),
])
def test_bad_parameters_are_named(raw, named):
    with pytest.raises(ValidationError) as caught:
        parameters_validate(raw)
    assert any(message.startswith(named) for message in caught.value.messages), \
        caught.value.messages


@pytest.mark.parametrize("raw", [[], "previous_month", None, 3])
def test_parameters_are_an_object(raw):
    with pytest.raises(ValidationError, match="JSON object"):
        parameters_validate(raw)


@pytest.mark.parametrize(("period", "today", "expected"), [
    ("previous_day", date(2025, 3, 1), (date(2025, 2, 28), date(2025, 2, 28))),
    ("previous_week", date(2025, 3, 5), (date(2025, 2, 24), date(2025, 3, 2))),  # a Wednesday
    ("previous_month", date(2025, 1, 15), (date(2024, 12, 1), date(2024, 12, 31))),
    ("previous_month", date(2024, 3, 1), (date(2024, 2, 1), date(2024, 2, 29))),
    ("previous_quarter", date(2025, 5, 20), (date(2025, 1, 1), date(2025, 3, 31))),
    ("previous_quarter", date(2025, 2, 1), (date(2024, 10, 1), date(2024, 12, 31))),
    ("previous_year", date(2025, 6, 1), (date(2024, 1, 1), date(2024, 12, 31))),
    ("week_to_date", date(2025, 3, 5), (date(2025, 3, 3), date(2025, 3, 5))),
    ("month_to_date", date(2025, 3, 5), (date(2025, 3, 1), date(2025, 3, 5))),
    ("quarter_to_date", date(2025, 8, 9), (date(2025, 7, 1), date(2025, 8, 9))),
    ("year_to_date", date(2025, 8, 9), (date(2025, 1, 1), date(2025, 8, 9))),
    ("last_7_days", date(2025, 3, 8), (date(2025, 3, 1), date(2025, 3, 7))),
    ("last_30_days", date(2025, 3, 31), (date(2025, 3, 1), date(2025, 3, 30))),
    ("last_90_days", date(2025, 4, 1), (date(2025, 1, 1), date(2025, 3, 31))),
    ("last_12_months", date(2025, 3, 15), (date(2024, 3, 1), date(2025, 2, 28))),
])
def test_periods_resolve_to_dates(period, today, expected):
    assert period_dates(period, today) == expected


def test_every_period_resolves():
    for period in PERIODS:
        start, end = period_dates(period, date(2025, 1, 1))
        assert start <= end, period


def test_resolving_gives_the_parameters_a_run_uses():
    params = parameters_resolve({"period": "previous_month", "states": ["pr "],
                                 "clients": ["101", 202], "top_n": "5",
                                 "overstock_months": "4.5"}, date(2025, 4, 10))
    assert (params.date_from, params.date_to) == (date(2025, 3, 1), date(2025, 3, 31))
    assert params.states == ("PR",) and params.clients == (101, 202)
    assert params.top_n == 5 and params.overstock_months == Decimal("4.5")
    assert params.to_dict()["date_from"] == "2025-03-01"
    assert parameters_resolve({}, date(2025, 4, 10)).date_from is None


# --- schedules ------------------------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("expression", ["", "0 7 1 *", "61 * * * *", "0 7 * * xyz",
                                        "a b c d e", "0 7 1 * * *"])
def test_bad_cron_expressions_are_refused(expression):
    with pytest.raises(ValueError):
        parse(expression)


def test_a_schedule_that_never_fires_is_refused():
    validate_cron("0 7 1 * *")
    with pytest.raises(ValidationError, match="does not fire"):
        validate_cron("0 0 29 2 1")  # Feb 29 on a Monday: 2044
    with pytest.raises(ValidationError, match="five fields"):
        validate_cron("0 7")


def test_the_slot_is_the_latest_due_time_at_or_before_the_tick():
    monthly = parse("0 7 1 * *")
    assert previous_fire(monthly, at("2025-03-01T07:00:00.250")) == at("2025-03-01T07:00")
    assert previous_fire(monthly, at("2025-03-01T07:03:10")) == at("2025-03-01T07:00")
    # A message that waited past the next due time would still say when beat sent it.
    assert previous_fire(monthly, at("2025-03-01T06:59:59")) == at("2025-02-01T07:00")
    assert previous_fire(monthly, at("2025-03-31T23:00")) == at("2025-03-01T07:00")
    every_minute = parse("* * * * *")
    assert previous_fire(every_minute, at("2025-03-01T07:03:59")) == at("2025-03-01T07:03")


def test_slots_and_next_runs_follow_the_time_zone():
    sao_paulo = parse("0 7 * * *", "America/Sao_Paulo")  # UTC-3
    assert previous_fire(sao_paulo, at("2025-03-01T10:00:01")) == at("2025-03-01T10:00")
    assert previous_fire(sao_paulo, at("2025-03-01T09:59:59")) == at("2025-02-28T10:00")
    assert next_fire(sao_paulo, at("2025-03-01T10:00")) == at("2025-03-02T10:00")
    lisbon = parse("30 1 * * *", "Europe/Lisbon")  # 01:30 on the day clocks go forward
    assert next_fire(lisbon, at("2025-03-29T12:00")) == at("2025-03-30T01:30")


def test_fields_must_all_match_as_in_celery():
    """``0 7 1 * 1``: the 1st when it is a Monday (Celery ANDs the day fields)."""
    cron = parse("0 7 1 * 1")
    first = next_fire(cron, at("2025-01-01T00:00"))
    assert first == at("2025-09-01T07:00") and first.isoweekday() == 1


@pytest.mark.parametrize("expression", ["0 7 1 * *", "*/15 8-18 * * 1-5", "5 0 * 1,7 *",
                                        "0 12 13 * 5", "* * * * *"])
def test_next_fire_agrees_with_celery_crontab(expression):
    ours = parse(expression)
    fields = dict(zip(("minute", "hour", "day_of_month", "month_of_year", "day_of_week"),
                      expression.split(), strict=True))
    theirs = crontab(**fields)
    moment = at("2025-01-01T00:00")
    for _ in range(8):
        following = next_fire(ours, moment)
        last_run, delta, _now = theirs.remaining_delta(moment, tz=UTC)
        assert last_run + delta == following, (expression, moment)
        assert previous_fire(ours, following) == following
        assert previous_fire(ours, following - timedelta(seconds=1)) < following
        moment = following

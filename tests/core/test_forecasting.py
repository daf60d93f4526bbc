"""The shared forecast kernel: expected values worked out by hand in the comments."""

from datetime import date
from decimal import Decimal as D

from core import forecasting as fc
from reports.queries import forecast as report_forecast


def series(*values):
    return [D(str(v)) for v in values]


def test_reports_use_the_shared_kernel_not_a_copy():
    assert report_forecast.predict is fc.predict
    assert report_forecast.holdout_error is fc.holdout_error
    assert report_forecast.add_months is fc.add_months


def test_weekly_seasonal_naive_needs_two_weeks_of_days():
    assert fc.method_for(13, fc.WEEK) == fc.SES
    assert fc.method_for(14, fc.WEEK) == fc.SEASONAL_NAIVE
    # monthly series keep their rule: one year is enough
    assert fc.method_for(12) == fc.SEASONAL_NAIVE
    # 14 days 1..14: last week 8..14 repeats
    assert fc.predict(series(*range(1, 15)), 9, fc.WEEK) == (
        fc.SEASONAL_NAIVE, series(8, 9, 10, 11, 12, 13, 14, 8, 9))


def test_month_end_adds_the_forecast_of_the_days_left():
    # 14 complete days ending 2025-06-09, the pattern 1..7 twice; June 1-9 are 6,7,1..7 = 41.
    history = series(*range(1, 8), *range(1, 8))
    result = fc.month_end(history, date(2025, 6, 10), today_so_far=D("0.5"))
    assert result.month == date(2025, 6, 1)
    assert result.method == fc.SEASONAL_NAIVE
    assert result.to_date == D("41.5")
    # June 10..30 = 21 days forecast as 1..7 three times = 84; today expects 1 and has
    # cost 0.5 so far: 0.5 + 83 more.
    assert len(result.daily) == 21 and sum(result.daily) == 84
    assert result.remaining == D("83.5")
    assert result.projected == D("125")
    # holdout: SES on 1..7 -> levels 1, 1.5, 2.25, 3.125, 4.0625, 5.03125, 6.015625;
    # |1..7 - 6.015625| sum to 16.078125 over 7 days
    assert result.error.method == fc.SES
    assert result.error.mae == D("16.078125") / 7


def test_a_busy_morning_is_never_subtracted():
    history = series(*range(1, 8), *range(1, 8))
    result = fc.month_end(history, date(2025, 6, 10), today_so_far=D(3))
    # today already beyond its forecast of 1: only the 20 following days (84 - 1) remain
    assert result.to_date == D(44)
    assert result.remaining == D(83)
    assert result.projected == D(127)


def test_month_end_on_the_first_day_without_history():
    result = fc.month_end([], date(2025, 2, 1), today_so_far=D("2.5"))
    assert result.to_date == D("2.5")
    assert result.daily == tuple(series(*[0] * 28))
    assert result.projected == D("2.5")
    assert result.error is None


def test_month_end_ses_on_a_short_history():
    # history from 2025-03-28 to 2025-04-02 (6 days); April 1-2 are 4 and 6 -> to_date 10
    history = series(2, 2, 2, 2, 4, 6)
    result = fc.month_end(history, date(2025, 4, 3), holdout=2)
    # SES: 2, 2, 2, 2, 3, 4.5 -> 4.5 per day for April 3..30 (28 days) = 126
    assert result.method == fc.SES
    assert result.to_date == D(10)
    assert result.projected == D(136)
    # holdout 2: fit on 2,2,2,2 -> 2; errors |4-2| + |6-2| = 6 -> MAE 3; MAPE (50 + 66.67)/2
    assert result.error.mae == D(3)
    assert round(result.error.mape, 2) == D("58.33")


def test_days_spans_inclusive():
    assert fc.days(date(2025, 1, 30), date(2025, 2, 1)) == [
        date(2025, 1, 30), date(2025, 1, 31), date(2025, 2, 1)]
    assert fc.days(date(2025, 2, 1), date(2025, 1, 31)) == []
    assert fc.month_days(date(2024, 2, 10)) == 29

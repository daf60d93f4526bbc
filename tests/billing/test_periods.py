"""Billing periods: month ends clamp to short months and come back to the anchor day;
proration counts calendar days (UTC)."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from billing.periods import add_interval, proration_fraction, remaining_days


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("start", "anchor", "end"), [
    (at(2026, 1, 15, 9, 30), None, at(2026, 2, 15, 9, 30)),
    (at(2026, 1, 31), None, at(2026, 2, 28)),          # clamped to February's end
    (at(2028, 1, 31), None, at(2028, 2, 29)),          # leap year
    (at(2026, 2, 28), 31, at(2026, 3, 31)),            # back to the anchor after February
    (at(2026, 3, 31), 31, at(2026, 4, 30)),
    (at(2026, 4, 30), 31, at(2026, 5, 31)),
    (at(2026, 12, 31, 23, 59), None, at(2027, 1, 31, 23, 59)),  # over the year end
])
def test_a_month_later_is_the_anchor_day_clamped_to_the_month(start, anchor, end):
    assert add_interval(start, "month", anchor) == end


def test_a_subscription_started_on_the_31st_keeps_its_day_through_a_year():
    moment, seen = at(2026, 1, 31, 8), []
    for _ in range(12):
        moment = add_interval(moment, "month", 31)
        seen.append(moment.day)
    assert seen == [28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31]
    assert moment == at(2027, 1, 31, 8)


@pytest.mark.parametrize(("start", "anchor", "end"), [
    (at(2026, 6, 1), None, at(2027, 6, 1)),
    (at(2028, 2, 29), None, at(2029, 2, 28)),
    (at(2031, 2, 28), 29, at(2032, 2, 29)),  # the anchor brings 29 February back
])
def test_a_year_later(start, anchor, end):
    assert add_interval(start, "year", anchor) == end


def test_time_of_day_and_time_zone_are_kept():
    tz = timezone(timedelta(hours=-3))
    start = datetime(2026, 5, 10, 21, 0, tzinfo=tz)
    assert add_interval(start, "month") == datetime(2026, 6, 10, 21, 0, tzinfo=tz)


def test_unknown_intervals_and_anchor_days_are_refused():
    with pytest.raises(ValueError, match="interval"):
        add_interval(at(2026, 1, 1), "week")
    with pytest.raises(ValueError, match="anchor"):
        add_interval(at(2026, 1, 1), "month", 32)


def test_proration_counts_calendar_days_left():
    start, end = at(2026, 4, 1), at(2026, 5, 1)  # 30 days
    assert remaining_days(start, end, at(2026, 4, 16, 10)) == (15, 30)
    assert proration_fraction(start, end, at(2026, 4, 16, 10)) == Decimal("0.5")
    # The day of the change counts as remaining, whatever the hour.
    assert remaining_days(start, end, at(2026, 4, 16, 23, 59)) == (15, 30)
    assert proration_fraction(start, end, start) == Decimal(1)


def test_proration_outside_the_period_is_clamped():
    start, end = at(2026, 4, 1), at(2026, 5, 1)
    assert proration_fraction(start, end, at(2026, 5, 3)) == 0
    assert proration_fraction(start, end, at(2026, 3, 20)) == 1
    assert proration_fraction(start, start, start) == 0


def test_proration_days_are_utc_days():
    # 23:30 at UTC-3 on 15 April is 02:30 UTC on the 16th: 15 days left, not 16.
    local = datetime(2026, 4, 15, 23, 30, tzinfo=timezone(timedelta(hours=-3)))
    assert remaining_days(at(2026, 4, 1), at(2026, 5, 1), local) == (15, 30)

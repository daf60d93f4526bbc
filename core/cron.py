"""Cron schedules: parsing, the next run, and a tick's slot (reports, workflow triggers).

A schedule is five crontab fields (``minute hour day-of-month month day-of-week``)
in a time zone, matched as Celery's ``crontab`` matches them (django-celery-beat
fires the ``PeriodicTask`` through it): every field must match, so
``0 7 1 * 1`` is 07:00 on the 1st *when that is a Monday*, not "the 1st or Mondays".

The **slot** of a tick is the latest time the schedule was due at or before the
moment beat sent it.  Two messages for the same tick (beat restarted, two beats
running, the broker redelivering) compute the same slot, and a run is unique per
schedule owner and slot: that is what makes a scheduled run happen once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from celery.schedules import crontab
from django.core.exceptions import ValidationError

FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
SEARCH_DAYS = 366 * 5  # a schedule that does not fire within five years is refused


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday, as in cron and Celery
    tz: ZoneInfo
    fields: dict[str, str]

    def runs_on(self, day: date) -> bool:
        return (day.month in self.months and day.day in self.days
                and day.isoweekday() % 7 in self.weekdays)


def parse(expression: str, tz: str = "UTC") -> Cron:
    """A cron expression in a time zone; ``ValueError`` with a readable message if bad."""
    parts = (expression or "").split()
    if len(parts) != len(FIELDS):
        raise ValueError("Write five fields: minute hour day-of-month month day-of-week, "
                         "e.g. \"0 7 1 * *\" (07:00 on the 1st of each month).")
    fields = dict(zip(FIELDS, parts, strict=True))
    try:
        parsed = crontab(**fields)
    except Exception as exc:  # celery raises ValueError and friends with terse text
        raise ValueError(f"Not a valid crontab expression ({exc}).") from None
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{tz!r} is not a time zone name.") from exc
    return Cron(minutes=tuple(sorted(parsed.minute)), hours=tuple(sorted(parsed.hour)),
                days=frozenset(parsed.day_of_month), months=frozenset(parsed.month_of_year),
                weekdays=frozenset(parsed.day_of_week), tz=zone, fields=fields)


def validate_cron(expression: str) -> None:
    """Model field validator: five valid fields that fire at least once."""
    if not expression:
        return
    try:
        cron = parse(expression)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid") from None
    if next_fire(cron, datetime.now(UTC)) is None:
        raise ValidationError("This schedule does not fire in the next five years.",
                              code="invalid")


def previous_fire(cron: Cron, at: datetime) -> datetime | None:
    """The latest due time at or before ``at`` (aware, UTC); ``None`` if none in 5 years."""
    at = at.astimezone(UTC)
    for local in _candidates(cron, at.astimezone(cron.tz).replace(tzinfo=None), backwards=True):
        instant = local.replace(tzinfo=cron.tz).astimezone(UTC)
        if instant <= at:
            return instant
    return None


def next_fire(cron: Cron, after: datetime) -> datetime | None:
    """The first due time strictly after ``after`` (aware, UTC)."""
    after = after.astimezone(UTC)
    for local in _candidates(cron, after.astimezone(cron.tz).replace(tzinfo=None),
                             backwards=False):
        instant = local.replace(tzinfo=cron.tz).astimezone(UTC)
        if instant > after:
            return instant
    return None


def _candidates(cron: Cron, start: datetime, *, backwards: bool) -> Iterator[datetime]:
    """Local (naive) due times from ``start`` outwards, a day at a time."""
    step = timedelta(days=-1 if backwards else 1)
    day = start.date()
    for _ in range(SEARCH_DAYS):
        if cron.runs_on(day):
            hours = reversed(cron.hours) if backwards else cron.hours
            for hour in hours:
                minutes = reversed(cron.minutes) if backwards else cron.minutes
                for minute in minutes:
                    moment = datetime.combine(day, time(hour, minute))
                    if (moment <= start) if backwards else (moment >= start):
                        yield moment
        day += step

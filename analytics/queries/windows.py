"""Time windows and buckets of metric charts, in a chosen time zone.

A window is ``[start, end)`` (aware datetimes).  Buckets are the hours, days, ISO weeks
(from Monday) or months of the zone's wall clock that start inside the window, the first
one being the bucket containing ``start``; the same truncation the database applies
(``Trunc(..., tzinfo=zone)``), so every row falls in one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date, parse_datetime

INTERVALS = ("hour", "day", "week", "month")
MAX_BUCKETS = 5000


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    interval: str
    zone: ZoneInfo

    def walls(self) -> list[datetime]:
        """Every bucket's start as a naive wall-clock time of the zone, in order."""
        first = truncate(self.start.astimezone(self.zone).replace(tzinfo=None), self.interval)
        walls: list[datetime] = []
        if self.interval == "hour":
            # Step real hours (UTC), so a daylight-saving change neither invents an hour
            # that the clock skipped nor repeats one it went through twice.
            moment = self.aware(first).astimezone(UTC)
            while moment < self.end:
                wall = truncate(moment.astimezone(self.zone).replace(tzinfo=None), "hour")
                if not walls or walls[-1] != wall:
                    walls.append(wall)
                moment += timedelta(hours=1)
            return walls
        wall = first
        while self.aware(wall) < self.end:
            walls.append(wall)
            wall = step(wall, self.interval)
        return walls

    def aware(self, wall: datetime) -> datetime:
        return wall.replace(tzinfo=self.zone)

    def key(self, moment: datetime) -> datetime:
        """The wall-clock key of a bucket the database returned (aware or naive UTC)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone).replace(tzinfo=None)


def truncate(wall: datetime, interval: str) -> datetime:
    wall = wall.replace(minute=0, second=0, microsecond=0)
    if interval == "hour":
        return wall
    wall = wall.replace(hour=0)
    if interval == "week":
        return wall - timedelta(days=wall.weekday())
    if interval == "month":
        return wall.replace(day=1)
    return wall


def step(wall: datetime, interval: str) -> datetime:
    if interval == "day":
        return wall + timedelta(days=1)
    if interval == "week":
        return wall + timedelta(days=7)
    if interval == "month":
        return wall.replace(year=wall.year + wall.month // 12, month=wall.month % 12 + 1)
    return wall + timedelta(hours=1)


def zone_named(name: str, field: str = "tz") -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError({field: f"Unknown time zone {name!r} (an IANA name such as "
                                      "Europe/Lisbon is expected)."}) from exc


def window(start: datetime, end: datetime, interval: str = "day",
           tz: str | ZoneInfo = "UTC") -> Window:
    """A checked window: known interval and zone, ``start`` before ``end``, not too many
    buckets (a year of hours is fine, ten years of them is not)."""
    zone = tz if isinstance(tz, ZoneInfo) else zone_named(tz)
    if interval not in INTERVALS:
        raise ValidationError({"interval": f"One of {', '.join(INTERVALS)} "
                                           f"(got {interval!r})."})
    if start is None or end is None or start.tzinfo is None or end.tzinfo is None:
        raise ValidationError({"from": "Both ends of the range are needed, with a time zone."})
    if start >= end:
        raise ValidationError({"from": "'from' must be before 'to'."})
    approx = (end - start) / {"hour": timedelta(hours=1), "day": timedelta(days=1),
                              "week": timedelta(days=7), "month": timedelta(days=28)}[interval]
    if approx > MAX_BUCKETS:
        raise ValidationError({"interval": f"At most {MAX_BUCKETS} {interval}s in one "
                                           "chart: shorten the range or pick a longer "
                                           "interval."})
    return Window(start, end, interval, zone)


def bound(value: str | None, zone: ZoneInfo, *, field: str, end: bool) -> datetime | None:
    """A query parameter as an instant: a date is that day in ``zone`` (its first moment;
    for ``to``, the first moment after it, so the day is included); a datetime without an
    offset is read in ``zone``."""
    if value in (None, ""):
        return None
    try:
        day = parse_date(value) if len(value) == 10 else None
        moment = None if day else parse_datetime(value)
    except ValueError:  # well formed but no such day or time (2026-02-30)
        day = moment = None
    if day is None and moment is None:
        raise ValidationError({field: "A date (YYYY-MM-DD) or an ISO 8601 date-time is "
                                      "expected."})
    if day is not None:
        return datetime.combine(day + timedelta(days=1 if end else 0), time.min, tzinfo=zone)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def last_days(days: int, zone: ZoneInfo, today: date) -> tuple[datetime, datetime]:
    """The ``days`` whole days of ``zone`` ending with ``today``."""
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)
    return datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=zone), end

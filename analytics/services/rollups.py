"""Rollups of product events, per UTC day: the figures dashboards and reports read
without scanning events, and that outlive the events' retention.

* ``UserBehaviorMetric`` per workspace, day and person (non-empty ``distinct_id``):
  events, distinct non-empty session ids, distinct event names, first and last event.
* ``BusinessMetric`` per workspace and day, unit ``count``: ``events`` (all events,
  system ones included), ``active_people`` (distinct people), ``new_people`` (people whose
  first retained event falls on that day), ``sessions`` (distinct non-empty session ids).
* ``UserInsight`` per workspace and person active in the range, over all their retained
  events: first and last seen, active days, total events, the ten most frequent names.

``rollup_range(start, end, workspace=None)`` recomputes every day of ``start..end``
(inclusive) in one transaction under an advisory lock (one rollup writer at a time): new
rows are inserted, changed rows updated (``computed_at`` moves), equal rows left alone, so
running it again changes nothing.  Nothing is deleted: events leave only by retention, and
a day's rollups must survive its events.  ``rollup_day(workspace, day)`` is one day of one
workspace.  Beat runs ``analytics.rollups.recent`` daily (yesterday and today);
``manage.py analytics_rollup --from --to [--workspace]`` recomputes a range.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import BusinessMetric, Event, UserBehaviorMetric, UserInsight

MAX_DAYS = 3660
TOP_EVENTS = 10
BUSINESS = ("events", "active_people", "new_people", "sessions")
_LOCK_KEY = 0x616E5275  # "anRu": one analytics rollup writer at a time
_PERSON = ~Q(distinct_id="")
_SESSION = ~Q(session_id="")


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    if start is None or end is None or start > end:
        raise ValidationError({"from": "The range needs a first day on or before its last."})
    if (end - start).days >= MAX_DAYS:
        raise ValidationError({"to": f"At most {MAX_DAYS} days at once."})
    return (datetime.combine(start, time.min, tzinfo=UTC),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC))


def _day():
    return TruncDate("timestamp", tzinfo=UTC)


def behaviour(events) -> dict:
    """{(workspace_id, day, distinct_id): values} of the given events."""
    rows = (events.filter(_PERSON).annotate(day=_day())
            .values("workspace_id", "day", "distinct_id")
            .annotate(n=Count("id"), sessions=Count("session_id", distinct=True,
                                                    filter=_SESSION),
                      names=Count("name", distinct=True), first=Min("timestamp"),
                      last=Max("timestamp")).order_by())
    return {(r["workspace_id"], r["day"], r["distinct_id"]): {
        "events": r["n"], "sessions": r["sessions"], "distinct_event_names": r["names"],
        "first_event_at": r["first"], "last_event_at": r["last"]} for r in rows}


def insights(events) -> dict:
    """{(workspace_id, distinct_id): values} over all retained events of the people
    active in ``events``."""
    people = events.filter(_PERSON).values("distinct_id")
    out: dict = {}
    for workspace_id in events.values_list("workspace_id", flat=True).distinct().order_by():
        theirs = Event.objects.filter(workspace_id=workspace_id,
                                      distinct_id__in=people.filter(workspace_id=workspace_id))
        for r in (theirs.values("distinct_id")
                  .annotate(first=Min("timestamp"), last=Max("timestamp"), n=Count("id"),
                            days=Count(_day(), distinct=True)).order_by()):
            out[(workspace_id, r["distinct_id"])] = {
                "first_seen": r["first"], "last_seen": r["last"], "active_days": r["days"],
                "total_events": r["n"], "top_events": {}}
        names: dict = defaultdict(Counter)
        for person, name, n in (theirs.values("distinct_id", "name")
                                .annotate(n=Count("id")).values_list("distinct_id", "name",
                                                                     "n").order_by()):
            names[person][name] = n
        for person, counts in names.items():
            top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_EVENTS]
            out[(workspace_id, person)]["top_events"] = dict(top)
    return out


def business(events, people: dict) -> dict:
    """{(workspace_id, day, name): value} of the given events; ``people`` are the
    insights (their first_seen gives new_people)."""
    out: dict = {}
    for r in (events.annotate(day=_day()).values("workspace_id", "day")
              .annotate(n=Count("id"), active=Count("distinct_id", distinct=True,
                                                    filter=_PERSON),
                        sessions=Count("session_id", distinct=True, filter=_SESSION))
              .order_by()):
        key = (r["workspace_id"], r["day"])
        for name, value in (("events", r["n"]), ("active_people", r["active"]),
                            ("new_people", 0), ("sessions", r["sessions"])):
            out[(*key, name)] = {"value": Decimal(value), "unit": "count"}
    for (workspace_id, _person), values in people.items():
        key = (workspace_id, values["first_seen"].astimezone(UTC).date(), "new_people")
        if key in out:
            out[key]["value"] += 1
    return out


def _upsert(model, key_fields: tuple[str, ...], wanted: dict, existing, now) -> dict:
    """Insert the new keys, update the changed rows, leave the equal ones alone."""
    stats = {"created": 0, "updated": 0, "unchanged": 0}
    have = {tuple(getattr(row, f"{f}_id" if f == "workspace" else f) for f in key_fields): row
            for row in existing}
    new, changed = [], []
    fields = sorted({name for values in wanted.values() for name in values})
    for key, values in wanted.items():
        row = have.get(key)
        if row is None:
            new.append(model(**dict(zip((f"{f}_id" if f == "workspace" else f
                                         for f in key_fields), key, strict=True)),
                             **values, computed_at=now))
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.computed_at = now
            changed.append(row)
        else:
            stats["unchanged"] += 1
    model.objects.bulk_create(new, batch_size=1000)
    model.objects.bulk_update(changed, [*fields, "computed_at"], batch_size=1000)
    stats["created"], stats["updated"] = len(new), len(changed)
    return stats


def rollup_range(start: date, end: date, workspace=None) -> dict:
    """Recompute the rollups of ``start..end`` (UTC days, inclusive), of one workspace or
    all; per model, the rows created, updated and unchanged."""
    since, until = _bounds(start, end)
    events = Event.objects.filter(timestamp__gte=since, timestamp__lt=until)
    scope = {}
    if workspace is not None:
        workspace_id = getattr(workspace, "pk", workspace)
        events = events.filter(workspace_id=workspace_id)
        scope = {"workspace_id": workspace_id}
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        people = insights(events)
        days = {"day__gte": start, "day__lte": end, **scope}
        return {
            "behaviour": _upsert(UserBehaviorMetric, ("workspace", "day", "distinct_id"),
                                 behaviour(events),
                                 UserBehaviorMetric.objects.filter(**days), now),
            "business": _upsert(BusinessMetric, ("workspace", "day", "name"),
                                business(events, people),
                                BusinessMetric.objects.filter(name__in=BUSINESS, **days), now),
            "insights": _upsert(UserInsight, ("workspace", "distinct_id"), people,
                                UserInsight.objects.filter(distinct_id__in=events.filter(
                                    _PERSON).values("distinct_id"), **scope), now),
        }


def rollup_day(workspace, day: date) -> dict:
    """One UTC day of one workspace (see ``rollup_range``)."""
    return rollup_range(day, day, workspace)

"""A metric's numbers, computed on read from the events (nothing is stored).

``metric_series`` answers one chart: the metric per time bucket (hour, day, week or month
of a time zone), every bucket present (0 where nothing happened), optionally one series
per value of a property (the ``breakdown_limit`` values with the most events; events
without the property are left out of a breakdown), plus the ``total`` over the whole
window.  ``metric_value`` answers one number.

Kinds: ``count`` (events), ``unique`` (distinct non-empty ``distinct_id``, or distinct
values of ``property`` as text), ``sum`` / ``average`` / ``percentile`` of a numeric
property (events where it is not a JSON number are ignored).  Percentiles interpolate
linearly (PostgreSQL ``percentile_cont``; elsewhere the same formula in Python).

Queries read ``Event`` through the (workspace, name, timestamp) index: one grouped query
per chart, and one more for the total when it is not the sum of the points (unique,
average, percentile, or any breakdown).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Avg, Count, DateTimeField, Q, QuerySet, Subquery, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Trunc

from analytics.models import Event, Metric

from .properties import (
    NumericProperty,
    PercentileCont,
    apply_filters,
    percentile_of,
    validate_filters,
    validate_key,
)
from .windows import Window, window

Kind = Metric.Kind
NUMERIC_KINDS = (Kind.SUM, Kind.AVERAGE, Kind.PERCENTILE)
ADDITIVE_KINDS = (Kind.COUNT, Kind.SUM)
MAX_BREAKDOWN = 50


def check_definition(metric: Metric) -> None:
    """Raise ``ValidationError`` (per field) unless the metric can be computed: a known
    kind, the property its kind needs, a percentile for percentiles, valid filters."""
    errors: dict[str, list[str]] = {}
    if not (metric.event_name or "").strip():
        errors["event_name"] = ["The event name the metric aggregates is required."]
    if metric.kind not in Kind.values:
        errors["kind"] = [f"One of {', '.join(Kind.values)}."]
    if metric.kind in NUMERIC_KINDS:
        try:
            validate_key(metric.property)
        except ValidationError:
            errors["property"] = [f"A {metric.kind} needs the numeric property to "
                                  "aggregate."]
    if metric.kind == Kind.PERCENTILE and (
            metric.percentile is None or not 0 <= Decimal(metric.percentile) <= 100):
        errors["percentile"] = ["A percentile metric needs a percentile from 0 to 100."]
    try:
        validate_filters(metric.filters)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


def events_for(metric: Metric, start: datetime, end: datetime) -> QuerySet:
    """The events a metric aggregates in ``[start, end)``, filters applied."""
    events = Event.objects.filter(workspace_id=metric.workspace_id, name=metric.event_name,
                                  timestamp__gte=start, timestamp__lt=end)
    return apply_filters(events, metric.filters or [])


def _in_database_percentile(using: str = "default") -> bool:
    return connections[using].vendor == "postgresql"


def _aggregate(metric: Metric):
    """The SQL aggregate of the metric's kind; None when computed in Python (percentile
    off PostgreSQL)."""
    if metric.kind == Kind.COUNT:
        return Count("id")
    if metric.kind == Kind.UNIQUE:
        if metric.property:
            return Count(KeyTextTransform(metric.property, "properties"), distinct=True)
        return Count("distinct_id", distinct=True, filter=~Q(distinct_id=""))
    number = NumericProperty(metric.property)
    if metric.kind == Kind.SUM:
        return Sum(number)
    if metric.kind == Kind.AVERAGE:
        return Avg(number)
    if _in_database_percentile():
        return PercentileCont(number, float(metric.percentile) / 100)
    return None


def _number(metric: Metric, value) -> int | float:
    if value is None:
        return 0
    if metric.kind in (Kind.COUNT, Kind.UNIQUE):
        return int(value)
    return float(value)


def metric_value(metric: Metric, start: datetime, end: datetime) -> int | float:
    """The metric over ``[start, end)``: one number (0 when no event matches)."""
    check_definition(metric)
    events = events_for(metric, start, end)
    aggregate = _aggregate(metric)
    if aggregate is None:
        values = [v for v in events.values_list(NumericProperty(metric.property), flat=True)
                  .iterator(chunk_size=10_000) if v is not None]
        return percentile_of(values, float(metric.percentile) / 100) if values else 0
    return _number(metric, events.aggregate(value=aggregate)["value"])


def _grouped(metric: Metric, events: QuerySet, win: Window, by_label: bool) -> list[tuple]:
    """(bucket key, label or None, value, events) rows of the grouped query."""
    bucket = Trunc("timestamp", win.interval, tzinfo=win.zone, output_field=DateTimeField())
    events = events.annotate(bucket=bucket)
    keys = ["bucket", "label"] if by_label else ["bucket"]
    aggregate = _aggregate(metric)
    if aggregate is None:  # percentile in Python: the values per bucket and label
        values = defaultdict(list)
        rows = events.annotate(number=NumericProperty(metric.property)).values_list(
            *keys, "number")
        for row in rows.iterator(chunk_size=10_000):
            label = row[1] if by_label else None
            values[(win.key(row[0]), label)].append(row[-1])
        fraction = float(metric.percentile) / 100
        return [(key, label, percentile_of([v for v in numbers if v is not None], fraction)
                 if any(v is not None for v in numbers) else 0, len(numbers))
                for (key, label), numbers in values.items()]
    rows = events.values(*keys).annotate(value=aggregate, n=Count("id")).order_by()
    return [(win.key(row["bucket"]), row.get("label"), _number(metric, row["value"]),
             row["n"]) for row in rows]


def metric_series(metric: Metric, *, start: datetime, end: datetime, interval: str = "day",
                  breakdown_property: str = "", breakdown_limit: int = 5,
                  tz: str = "UTC") -> dict:
    """``{"series": [{"label", "points": [{"bucket", "value"}]}], "total"}``; ``bucket`` is
    the ISO 8601 start of the bucket with the zone's offset.  Without a breakdown there is
    one series, labelled with the metric's name."""
    check_definition(metric)
    win = window(start, end, interval, tz)
    if breakdown_property:
        validate_key(breakdown_property, "breakdown")
        if not 1 <= int(breakdown_limit) <= MAX_BREAKDOWN:
            raise ValidationError({"breakdown_limit": f"From 1 to {MAX_BREAKDOWN}."})
    events = events_for(metric, win.start, win.end)
    if breakdown_property:
        events = events.annotate(label=KeyTextTransform(breakdown_property, "properties"))
        events = events.filter(label__isnull=False)
        # The values with the most events, chosen inside the same SQL statement.
        top = (events.values("label").annotate(n=Count("id"))
               .order_by("-n", "label").values("label")[:int(breakdown_limit)])
        events = events.filter(label__in=Subquery(top))
    rows = _grouped(metric, events, win, bool(breakdown_property))
    walls = win.walls()
    by_label: dict = defaultdict(dict)
    weight: dict = defaultdict(int)
    for key, label, value, n in rows:
        by_label[label][key] = value
        weight[label] += n
    labels = sorted(by_label, key=lambda lb: (-weight[lb], str(lb))) if breakdown_property \
        else [None]
    series = [{"label": metric.name if label is None and not breakdown_property
               else "null" if label is None else str(label),
               "points": [{"bucket": win.aware(wall).isoformat(),
                           "value": by_label[label].get(wall, 0)} for wall in walls]}
              for label in labels]
    if metric.kind in ADDITIVE_KINDS and not breakdown_property:
        total = sum(point["value"] for point in series[0]["points"])
    else:
        total = metric_value(metric, win.start, win.end)
    return {"series": series, "total": total}

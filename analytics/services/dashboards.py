"""Metrics and dashboards: the definition rule every door applies, and a dashboard's data.

``metric_validate`` is the check a saved metric must pass (the API serializer and the
admin form call it): the model's own validation plus what the kind needs (a property
for sum, average and percentile; the percentile for percentiles) and well-formed filters.

``dashboard_data`` computes every widget of a dashboard over one window (by default the
dashboard's ``range_days`` whole days up to today, in the given zone): one grouped query
per widget (plus one for its total when that is not the sum of its points).  A widget
whose metric cannot be computed carries an ``error`` instead of failing the page.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from analytics.models import Dashboard, DashboardWidget, Metric
from analytics.queries.metrics import check_definition, metric_series
from analytics.queries.windows import last_days, window, zone_named


def metric_validate(metric: Metric, *, exclude: list[str] | None = None) -> None:
    """``ValidationError`` per field unless the metric is complete and computable."""
    errors: dict[str, list[str]] = {}
    try:
        metric.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        check_definition(metric)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(m for m in messages
                                                if m not in errors.get(field, []))
    if errors:
        raise ValidationError(errors)


def dashboard_window(dashboard: Dashboard, *, start: datetime | None = None,
                     end: datetime | None = None, tz: str = "UTC") -> tuple[datetime, datetime]:
    """The window shown: given ends win; missing ones follow ``range_days`` up to today."""
    zone = zone_named(tz)
    default_start, default_end = last_days(dashboard.range_days, zone,
                                           timezone.now().astimezone(zone).date())
    if end is None:
        end = default_end if start is None else max(default_end, start)
    if start is None:
        start = end - (default_end - default_start)
    window(start, end, "day", zone)  # checks the order and the zone
    return start, end


def widget_data(widget: DashboardWidget, start: datetime, end: datetime,
                tz: str = "UTC") -> dict:
    """One widget's description and numbers (``error`` when its metric is broken)."""
    data = {"id": widget.pk, "title": str(widget), "chart": widget.chart,
            "interval": widget.interval, "metric": widget.metric_id,
            "metric_name": widget.metric.name, "kind": widget.metric.kind,
            "breakdown_property": widget.breakdown_property, "error": None,
            "series": [], "total": 0}
    try:
        data.update(metric_series(
            widget.metric, start=start, end=end, interval=widget.interval,
            breakdown_property=widget.breakdown_property,
            breakdown_limit=widget.breakdown_limit, tz=tz))
    except ValidationError as exc:
        data["error"] = "; ".join(f"{field}: {' '.join(messages)}" for field, messages
                                  in exc.message_dict.items()) \
            if hasattr(exc, "error_dict") else " ".join(exc.messages)
    return data


def dashboard_data(dashboard: Dashboard, *, start: datetime | None = None,
                   end: datetime | None = None, tz: str = "UTC") -> dict:
    """``{"dashboard", "name", "from", "to", "tz", "widgets": [widget_data, ...]}``, the
    widgets in their order."""
    start, end = dashboard_window(dashboard, start=start, end=end, tz=tz)
    widgets = dashboard.widgets.select_related("metric").order_by("position", "id")
    return {"dashboard": dashboard.pk, "name": dashboard.name, "from": start.isoformat(),
            "to": end.isoformat(), "tz": tz or "UTC",
            "widgets": [widget_data(widget, start, end, tz) for widget in widgets]}

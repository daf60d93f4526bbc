"""Product-analytics dashboard on PostgreSQL: time to compute every widget of a dashboard
over ``BENCH_ANALYTICS_EVENTS`` events (default 10,000,000).

The events are generated once, in SQL (one ``INSERT … SELECT generate_series``), in the
workspace ``bench-analytics-dashboard``, spread over the last 90 days across ten event
names, 100,000 people and a few properties; a later run reuses them when the count is
right (set the variable lower for a quick run; another count regenerates them).  The
dashboard has six widgets over its last 30 days: count, unique people, sum of a
property, its 95th percentile, a count broken down by country, and a single number.

Reported: p50 (and min) over ``RUNS`` computations of ``dashboard_data`` (every widget:
one grouped query each, plus the total where it is not the sum of the points), the p50
of each widget alone, and whether PostgreSQL reads the events through the (workspace,
name, timestamp) index.  The target (ours; the issue sets none) is ``TARGET_MS``.  Times
are printed, never asserted.  Alone: ``python -m benchmarks.analytics_dashboard``.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # timing imports models: standalone runs set Django up first (main)
    from .timing import Result

EVENTS = int(os.environ.get("BENCH_ANALYTICS_EVENTS") or 10_000_000)
RUNS = 5
TARGET_MS = 2000.0  # a dashboard page of six charts within two seconds
WORKSPACE = "bench-analytics-dashboard"
# The (workspace, name, timestamp) index: named so on a plain table, per partition (with
# the columns in its name) once the table is partitioned by month.
INDEXES = ("analytics_event_name_time", "workspace_id_name_timestamp_idx")

GENERATE = """
INSERT INTO analytics_event (workspace_id, uuid, name, distinct_id, session_id, properties,
                             timestamp, received_at, source)
SELECT %(workspace)s,
       md5(%(workspace)s::text || '-' || g::text)::uuid,
       (ARRAY['pageview', 'pageview', 'pageview', 'pageview', 'click', 'click', 'search',
              'signup', 'purchase', 'logout'])[1 + g %% 10],
       'person-' || ((g::bigint * 2654435761) %% 100000)::text,
       'session-' || (g / 20)::text,
       jsonb_build_object(
           'plan', (ARRAY['free', 'pro', 'team', 'enterprise'])[1 + (g / 7) %% 4],
           'country', (ARRAY['PT', 'BR', 'ES', 'FR', 'DE', 'US', 'MX', 'IT'])[1 + (g / 3) %% 8],
           'amount', ((g::bigint * 37) %% 10000) / 100.0,
           'path', '/page/' || (g %% 50)::text),
       %(now)s - ((g::bigint * 7919) %% (90 * 86400)) * interval '1 second',
       %(now)s, 'api'
FROM generate_series(1, %(events)s) AS g
"""


def _workspace():
    from workspaces.models import Workspace

    workspace, _ = Workspace.objects.get_or_create(
        slug=WORKSPACE, defaults={"name": "Benchmark analytics dashboard"})
    return workspace


def _events(workspace) -> float:
    """Make sure the workspace has exactly EVENTS events; seconds spent generating."""
    from django.db import connection
    from django.utils import timezone

    from analytics.models import Event

    if Event.objects.filter(workspace=workspace).count() == EVENTS:
        return 0.0
    started = time.perf_counter()
    print(f"analytics dashboard: generating {EVENTS:,} events (once)...", flush=True)
    with connection.cursor() as cursor:  # one statement, whatever the count
        cursor.execute("DELETE FROM analytics_event WHERE workspace_id = %s", [workspace.pk])
        cursor.execute(GENERATE, {"workspace": workspace.pk, "events": EVENTS,
                                  "now": timezone.now()})
    with connection.cursor() as cursor:
        # As autovacuum would in production: statistics, and the visibility map that lets
        # a count read the index alone.
        cursor.execute("VACUUM (ANALYZE) analytics_event")
    return time.perf_counter() - started


def _dashboard(workspace):
    from analytics.models import Dashboard, DashboardWidget, Metric

    dashboard, _ = Dashboard.objects.get_or_create(workspace=workspace, name="Benchmark",
                                                   defaults={"range_days": 30})
    if dashboard.widgets.exists():
        return dashboard
    widgets = [
        ("Pageviews", "line", "", {"event_name": "pageview", "kind": "count"}),
        ("People", "line", "", {"event_name": "pageview", "kind": "unique"}),
        ("Revenue", "bar", "", {"event_name": "purchase", "kind": "sum",
                                "property": "amount"}),
        ("Order p95", "line", "", {"event_name": "purchase", "kind": "percentile",
                                   "property": "amount", "percentile": 95}),
        ("Pageviews by country", "line", "country",
         {"event_name": "pageview", "kind": "count"}),
        ("Pro signups", "number", "", {"event_name": "signup", "kind": "count", "filters": [
            {"property": "plan", "op": "eq", "value": "pro"}]}),
    ]
    for position, (title, chart, breakdown, fields) in enumerate(widgets):
        metric = Metric.objects.create(workspace=workspace, name=title, **fields)
        DashboardWidget.objects.create(workspace=workspace, dashboard=dashboard, metric=metric,
                                       title=title, chart=chart, position=position,
                                       breakdown_property=breakdown)
    return dashboard


def _p50_ms(call, runs: int = RUNS) -> tuple[float, float]:
    call()  # warm: plans, caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times)


def run() -> list[Result]:
    from analytics.queries.metrics import events_for, metric_series
    from analytics.services.dashboards import dashboard_data, dashboard_window

    from .timing import Result

    workspace = _workspace()
    generated = _events(workspace)
    dashboard = _dashboard(workspace)
    start, end = dashboard_window(dashboard)
    p50, fastest = _p50_ms(lambda: dashboard_data(dashboard))
    per_widget = []
    for widget in dashboard.widgets.select_related("metric").order_by("position"):
        widget_p50, _ = _p50_ms(lambda w=widget: metric_series(
            w.metric, start=start, end=end, interval=w.interval,
            breakdown_property=w.breakdown_property, breakdown_limit=w.breakdown_limit),
            runs=3)
        per_widget.append(f"{widget.title} {widget_p50:,.0f}")
    plan = events_for(dashboard.widgets.first().metric, start, end).order_by().explain()
    indexed = any(name in plan for name in INDEXES)
    figures = (f"6 widgets over {EVENTS:,} events (30 of 90 days): p50 {p50:,.0f} ms, "
               f"min {fastest:,.0f} ms; per widget p50 ms: {', '.join(per_widget)}; "
               f"(workspace, name, timestamp) index used: {'yes' if indexed else 'no'}"
               + (f"; generated in {generated:,.0f} s" if generated else ""))
    print(f"analytics dashboard: {figures}", flush=True)
    return [Result(f"analytics: dashboard render ({TARGET_MS:,.0f} ms / p50)", figures,
                   p50 / TARGET_MS, 1.0)]


def main() -> int:
    from .__main__ import standalone

    return standalone(run, "analytics dashboard render")


if __name__ == "__main__":
    raise SystemExit(main())

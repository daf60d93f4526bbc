"""Factories of metrics, dashboards, widgets, exports and rollups (product analytics), and
``make_events``: events written in one bulk insert for the dashboard tests (the capture
path's own ``EventFactory`` lives in ``analytics_events``)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from analytics.models import (
    BusinessMetric,
    Dashboard,
    DashboardWidget,
    Event,
    Export,
    Metric,
    UserBehaviorMetric,
    UserInsight,
)

from .workspaces import SAME_WORKSPACE, WorkspaceFactory


def make_events(workspace, *rows: dict, **defaults) -> list[Event]:
    """One event per dict (``name``, ``timestamp``, ``distinct_id``, ``session_id``,
    ``properties``, ``source``), ``defaults`` filling what a dict leaves out."""
    received = timezone.now()
    events = []
    for row in rows:
        values = {"name": "pageview", "distinct_id": "", "session_id": "", "properties": {},
                  "timestamp": datetime(2026, 3, 2, 12, tzinfo=UTC), **defaults, **row}
        events.append(Event(workspace=workspace, uuid=uuid.uuid4(), received_at=received,
                            **values))
    return Event.objects.bulk_create(events, batch_size=1000)


class MetricFactory(DjangoModelFactory):
    class Meta:
        model = Metric

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Metric {n + 1}")
    event_name = "pageview"
    kind = Metric.Kind.COUNT
    filters = factory.LazyFunction(list)


class DashboardFactory(DjangoModelFactory):
    class Meta:
        model = Dashboard

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Dashboard {n + 1}")
    range_days = 30


class DashboardWidgetFactory(DjangoModelFactory):
    class Meta:
        model = DashboardWidget

    workspace = factory.SubFactory(WorkspaceFactory)
    dashboard = factory.SubFactory(DashboardFactory, workspace=SAME_WORKSPACE)
    metric = factory.SubFactory(MetricFactory, workspace=SAME_WORKSPACE)
    title = factory.Sequence(lambda n: f"Widget {n + 1}")
    position = factory.Sequence(lambda n: n)


class ExportFactory(DjangoModelFactory):
    class Meta:
        model = Export

    workspace = factory.SubFactory(WorkspaceFactory)
    format = Export.Format.CSV
    event_name = "pageview"
    filters = factory.LazyFunction(list)


class BusinessMetricFactory(DjangoModelFactory):
    class Meta:
        model = BusinessMetric

    workspace = factory.SubFactory(WorkspaceFactory)
    day = factory.Sequence(lambda n: date.fromordinal(date(2026, 1, 1).toordinal() + n))
    name = "events"
    value = Decimal("12")
    unit = "count"
    computed_at = factory.LazyFunction(timezone.now)


class UserBehaviorMetricFactory(DjangoModelFactory):
    class Meta:
        model = UserBehaviorMetric

    workspace = factory.SubFactory(WorkspaceFactory)
    day = date(2026, 3, 2)
    distinct_id = factory.Sequence(lambda n: f"person-{n}")
    events = 5
    sessions = 1
    distinct_event_names = 2
    computed_at = factory.LazyFunction(timezone.now)


class UserInsightFactory(DjangoModelFactory):
    class Meta:
        model = UserInsight

    workspace = factory.SubFactory(WorkspaceFactory)
    distinct_id = factory.Sequence(lambda n: f"person-{n}")
    first_seen = datetime(2026, 3, 1, 9, tzinfo=UTC)
    last_seen = datetime(2026, 3, 2, 18, tzinfo=UTC)
    active_days = 2
    total_events = 7
    top_events = factory.LazyFunction(lambda: {"pageview": 5, "signup": 2})
    computed_at = factory.LazyFunction(timezone.now)

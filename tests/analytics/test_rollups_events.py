"""Rollups of events: each row equals the aggregate computed straight from the events,
running again changes nothing, later events update only what they touch, rollups outlive
their events, and the command and beat task run the same service."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import TruncDate

from analytics.models import BusinessMetric, Event, UserBehaviorMetric, UserInsight
from analytics.services import rollups
from tests.factories import WorkspaceFactory
from tests.factories.analytics_dashboards import make_events

pytestmark = pytest.mark.django_db
DAY1, DAY2 = date(2026, 3, 1), date(2026, 3, 2)


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def workspace():
    workspace = WorkspaceFactory(slug="rollups")
    make_events(
        workspace,
        {"distinct_id": "ana", "session_id": "a1", "timestamp": at(DAY1, 9)},
        {"distinct_id": "ana", "session_id": "a1", "name": "signup", "timestamp": at(DAY1, 10)},
        {"distinct_id": "bea", "session_id": "b1", "timestamp": at(DAY1, 23)},
        {"distinct_id": "", "name": "cron.ran", "timestamp": at(DAY1, 3)},  # system event
        {"distinct_id": "ana", "session_id": "a2", "timestamp": at(DAY2, 8)},
        {"distinct_id": "ana", "session_id": "", "timestamp": at(DAY2, 9)},
        {"distinct_id": "caio", "session_id": "c1", "name": "signup", "timestamp": at(DAY2, 1)},
        {"distinct_id": "caio", "session_id": "c1", "timestamp": at(DAY2, 2)},
    )
    make_events(WorkspaceFactory(), {"distinct_id": "ana", "timestamp": at(DAY1, 9)})
    return workspace


def direct_behaviour(workspace) -> dict:
    rows = (Event.objects.filter(workspace=workspace).exclude(distinct_id="")
            .annotate(day=TruncDate("timestamp", tzinfo=UTC))
            .values("day", "distinct_id")
            .annotate(n=Count("id"), s=Count("session_id", distinct=True,
                                             filter=~Q(session_id="")),
                      names=Count("name", distinct=True), first=Min("timestamp"),
                      last=Max("timestamp")))
    return {(r["day"], r["distinct_id"]): (r["n"], r["s"], r["names"], r["first"], r["last"])
            for r in rows}


def test_rollups_equal_the_direct_aggregates(workspace):
    rollups.rollup_range(DAY1, DAY2)
    stored = {(r.day, r.distinct_id): (r.events, r.sessions, r.distinct_event_names,
                                       r.first_event_at, r.last_event_at)
              for r in UserBehaviorMetric.objects.filter(workspace=workspace)}
    assert stored == direct_behaviour(workspace)
    figures = {(r.day, r.name): int(r.value)
               for r in BusinessMetric.objects.filter(workspace=workspace)}
    assert figures == {
        (DAY1, "events"): 4, (DAY1, "active_people"): 2, (DAY1, "new_people"): 2,
        (DAY1, "sessions"): 2,
        (DAY2, "events"): 4, (DAY2, "active_people"): 2, (DAY2, "new_people"): 1,
        (DAY2, "sessions"): 2}
    ana = UserInsight.objects.get(workspace=workspace, distinct_id="ana")
    assert (ana.first_seen, ana.last_seen, ana.active_days, ana.total_events,
            ana.top_events) == (at(DAY1, 9), at(DAY2, 9), 2, 4, {"pageview": 3, "signup": 1})
    assert UserInsight.objects.filter(workspace=workspace).count() == 3
    assert not UserInsight.objects.filter(distinct_id="").exists()


def test_running_again_changes_nothing_and_new_events_update_only_their_rows(workspace):
    rollups.rollup_range(DAY1, DAY2)
    before = {(type(r).__name__, r.pk, r.computed_at)
              for model in (UserBehaviorMetric, BusinessMetric, UserInsight)
              for r in model.objects.all()}
    again = rollups.rollup_range(DAY1, DAY2)
    assert all(stats["created"] == stats["updated"] == 0 for stats in again.values())
    after = {(type(r).__name__, r.pk, r.computed_at)
             for model in (UserBehaviorMetric, BusinessMetric, UserInsight)
             for r in model.objects.all()}
    assert after == before
    make_events(workspace, {"distinct_id": "bea", "session_id": "b2", "timestamp": at(DAY2, 5)})
    late = rollups.rollup_day(workspace, DAY2)
    assert late["behaviour"] == {"created": 1, "updated": 0, "unchanged": 2}
    assert BusinessMetric.objects.get(workspace=workspace, day=DAY2,
                                      name="active_people").value == 3
    assert BusinessMetric.objects.get(workspace=workspace, day=DAY2, name="new_people").value == 1
    assert UserInsight.objects.get(workspace=workspace, distinct_id="bea").active_days == 2


def test_rollups_outlive_their_events(workspace):
    rollups.rollup_range(DAY1, DAY2, workspace=workspace)
    Event.objects.filter(workspace=workspace, timestamp__lt=at(DAY2, 0)).delete()  # retention
    rollups.rollup_range(DAY1, DAY2, workspace=workspace)
    assert BusinessMetric.objects.get(workspace=workspace, day=DAY1, name="events").value == 4


def test_the_command_and_the_beat_task(workspace, monkeypatch):
    out = StringIO()
    call_command("analytics_rollup", "--from", "2026-03-01", "--to", "2026-03-02",
                 "--workspace", "rollups", stdout=out)
    assert "behaviour 2026-03-01..2026-03-02: 4 created" in out.getvalue()
    assert not BusinessMetric.objects.exclude(workspace=workspace).exists()
    with pytest.raises(CommandError, match="not a date"):
        call_command("analytics_rollup", "--from", "March")
    with pytest.raises(CommandError, match="first day on or before"):
        call_command("analytics_rollup", "--from", "2026-03-02", "--to", "2026-03-01")
    with pytest.raises(CommandError, match="No workspace"):
        call_command("analytics_rollup", "--workspace", "nope")

    from analytics import tasks_dashboards

    class Now:
        @staticmethod
        def now():
            return at(DAY2, 0) + timedelta(hours=6)

    monkeypatch.setattr(tasks_dashboards, "timezone", Now)
    stats = tasks_dashboards.rollup_recent_days.delay().get()
    assert stats["business"]["created"] == 4  # the other workspace's day 1 figures
    assert BusinessMetric.objects.exclude(workspace=workspace).count() == 4

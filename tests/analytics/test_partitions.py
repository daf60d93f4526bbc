"""Month partitions of product events (PostgreSQL), retention (every database), the beat
tasks and the admin's partitions page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse

from analytics import partitions, tasks_events
from analytics.models import Event
from core import live_settings
from tests.factories import EventFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


def partition_of(event) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT tableoid::regclass::text FROM "{partitions.PARENT}" '
                       "WHERE id = %s", [event.pk])
        return cursor.fetchone()[0]


def names() -> list[str]:
    return [p.name for p in partitions.partitions()]


@pytest.mark.postgres
def test_the_table_is_partitioned_by_month_with_a_default():
    current = partitions.month_start(datetime.now(UTC))
    ahead = [current]
    for _ in range(3):
        ahead.append(partitions.next_month(ahead[-1]))

    assert partitions.is_partitioned()
    assert {partitions.partition_name(m) for m in ahead} <= set(names())
    assert names()[-1] == partitions.DEFAULT_PARTITION
    event = EventFactory(timestamp=datetime.now(UTC))
    assert partition_of(event) == partitions.partition_name(current)
    assert Event.objects.get(pk=event.pk) == event  # the model's id still finds the row


@pytest.mark.postgres
def test_an_event_no_month_covers_lands_in_default_and_moves_when_its_month_comes():
    far = datetime(2031, 5, 20, tzinfo=UTC)
    event = EventFactory(timestamp=far)
    later = EventFactory(timestamp=datetime(2031, 6, 2, tzinfo=UTC))
    assert partition_of(event) == partitions.DEFAULT_PARTITION

    created = partitions.ensure_partitions(months_ahead=0, now=far)
    again = partitions.ensure_partitions(months_ahead=0, now=far)

    assert created == ["analytics_event_p203105"] and again == []
    assert partition_of(event) == "analytics_event_p203105"
    assert partition_of(later) == partitions.DEFAULT_PARTITION
    assert Event.objects.filter(pk__in=[event.pk, later.pk]).count() == 2


@pytest.mark.postgres
def test_ensure_creates_the_current_month_and_those_ahead():
    created = partitions.ensure_partitions(months_ahead=2, now=datetime(2032, 12, 3,
                                                                        tzinfo=UTC))

    assert created == ["analytics_event_p203212", "analytics_event_p203301",
                       "analytics_event_p203302"]
    bounds = {p.name: (p.start, p.end) for p in partitions.partitions()}
    assert bounds["analytics_event_p203301"] == (datetime(2033, 1, 1, tzinfo=UTC),
                                                 datetime(2033, 2, 1, tzinfo=UTC))


@pytest.mark.postgres
def test_pruning_drops_old_months_whole_and_trims_the_cutoff_month():
    partitions.ensure_partitions(months_ahead=2, now=datetime(2025, 8, 1, tzinfo=UTC))
    august = EventFactory(timestamp=datetime(2025, 8, 10, tzinfo=UTC))
    early_october = EventFactory(timestamp=datetime(2025, 10, 2, tzinfo=UTC))
    late_october = EventFactory(timestamp=datetime(2025, 10, 28, tzinfo=UTC))
    recent = EventFactory(timestamp=NOW - timedelta(days=3))
    stray_old = EventFactory(timestamp=datetime(2020, 1, 1, tzinfo=UTC))  # in DEFAULT

    result = partitions.prune_events(396, now=NOW)  # cutoff 2025-10-15 12:00

    assert result["cutoff"] == datetime(2025, 10, 15, 12, tzinfo=UTC)
    assert {"analytics_event_p202508", "analytics_event_p202509"} <= set(result["dropped"])
    assert "analytics_event_p202510" not in result["dropped"]
    assert result["deleted"] == 2  # early October (row by row) and the stray old one
    kept = set(Event.objects.values_list("pk", flat=True))
    assert kept >= {late_october.pk, recent.pk}
    assert not kept & {august.pk, early_october.pk, stray_old.pk}
    assert "analytics_event_p202508" not in names()


def test_retention_follows_the_live_setting():
    old = EventFactory(timestamp=NOW - timedelta(days=70))
    young = EventFactory(timestamp=NOW - timedelta(days=50))
    assert partitions.retention_days() == 395

    partitions.prune_events(now=NOW)
    assert Event.objects.filter(pk=old.pk).exists()  # 395 days: both kept

    live_settings.setting_set(key="analytics.event_retention_days", value=60)
    partitions.prune_events(now=NOW)

    assert list(Event.objects.values_list("pk", flat=True)) == [young.pk]


def test_the_retention_setting_refuses_a_near_wipe():
    with pytest.raises(Exception) as refused:
        live_settings.setting_set(key="analytics.event_retention_days", value=3)

    assert "at least 30" in str(refused.value)


def test_the_daily_tasks_call_the_services():
    EventFactory(timestamp=datetime.now(UTC) - timedelta(days=400))
    keep = EventFactory()

    pruned = tasks_events.prune_events.delay().get()
    created = tasks_events.ensure_event_partitions.delay().get()

    assert pruned["deleted"] == 1 and list(Event.objects.all()) == [keep]
    assert created == []  # the migration already made this month and three ahead


@pytest.mark.postgres
def test_the_table_converts_back_and_forth_keeping_rows_and_ids():
    events = [EventFactory(timestamp=datetime(2024, 3, 1, tzinfo=UTC)), EventFactory()]

    partitions.unpartition_table(connection)
    assert not partitions.is_partitioned()
    assert sorted(Event.objects.values_list("pk", flat=True)) == [e.pk for e in events]
    partitions.partition_table(connection)

    assert partitions.is_partitioned()
    assert "analytics_event_p202403" in names()
    assert partition_of(events[0]) == "analytics_event_p202403"
    newer = EventFactory()
    assert newer.pk > events[1].pk  # the identity sequence carried on


def test_the_partitions_page_is_for_staff_who_may_view_events(client):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    staff = UserFactory(is_staff=True)
    url = reverse("admin:analytics_event_partitions")

    client.force_login(superuser)
    page = client.get(url)
    client.force_login(staff)
    refused = client.get(url)

    assert page.status_code == 200
    if connection.vendor == "postgresql":
        assert partitions.DEFAULT_PARTITION in page.content.decode()
    assert refused.status_code == 403


def test_the_event_changelist_filters_by_name_and_source(client):
    workspace = WorkspaceFactory()
    EventFactory(workspace=workspace, name="signup")
    EventFactory(workspace=workspace, name="page_viewed")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:analytics_event_changelist"),
                      {"name": "signup", "source": "api"})

    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert "page_viewed" in page.content.decode()  # offered as a filter choice

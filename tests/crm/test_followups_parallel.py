"""Reminders and rollups at once (PostgreSQL, threads, each with its own connection):
four reminder runs at the same moment send each reminder once; four rollups of the
same period at once leave one set of rows equal to a single run's."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection

from crm.models import Call, FollowUp
from crm.models.rollups import CallDailyMetric
from crm.services import followups, rollups
from tests.factories import AgentFactory, CallFactory, ContactFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 4


def at_once(work):
    barrier = threading.Barrier(THREADS, timeout=60)

    def run(_):
        try:
            barrier.wait()
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def test_four_reminder_runs_at_once_send_each_reminder_once():
    owner = UserFactory(email="owner@example.com")
    contact = ContactFactory(owner=owner)
    due = datetime.now(UTC) + timedelta(minutes=30)
    for _ in range(6):
        followups.create(contact, due_at=due, assignee=owner)
    sent = at_once(followups.send_reminders)
    assert sum(sent) == 6
    assert len(mail.outbox) == 6
    assert not FollowUp.objects.filter(reminded_at__isnull=True).exists()


def test_four_rollups_of_one_period_at_once_leave_one_set_of_rows():
    contact = ContactFactory()
    agent = AgentFactory(workspace=contact.workspace, kind="voice")
    day = date(2026, 5, 10)
    for hour in range(3):
        made = CallFactory(workspace=contact.workspace, contact=contact, agent=agent,
                           duration_seconds=60)
        Call.objects.filter(pk=made.pk).update(
            created_at=datetime(2026, 5, 10, hour, tzinfo=UTC))
    results = at_once(lambda: rollups.rollup(day, day))
    assert sorted(r["created"] for r in results) == [0, 0, 0, 1]
    row = CallDailyMetric.objects.get()
    assert (row.calls, row.connected, row.total_duration_seconds) == (3, 3, 180)
    CallDailyMetric.objects.all().delete()

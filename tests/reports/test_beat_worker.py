"""A scheduled report for real: django-celery-beat's scheduler fires it, a worker builds it.

Beat is Celery's own ``beat.Service`` with the project's scheduler
(``django_celery_beat.schedulers.DatabaseScheduler``) reading the definition's
``PeriodicTask``; each ``tick()`` publishes what is due to kombu's filesystem
broker, and a real worker thread (``celery.contrib.testing.worker``) runs the
tasks: the report, then one email per recipient.  A second beat that loaded the
schedule before the first one saved it sends the same tick again; that message
must find its run and send nothing more.
"""

import json
import time
from datetime import timedelta

import pytest
from celery.beat import Service
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler
from django_celery_results.models import TaskResult

from config.celery_app import app
from reports.models import ReportDelivery, ReportRun
from reports.schedule import previous_fire
from tests.factories import MembershipFactory, ReportDefinitionFactory, WorkspaceFactory

from .conftest import Q1_2025, add_sales

TIMEOUT = 30  # seconds, for each wait on the worker
GENERATE = "reports.tasks.generate_report"


def wait_for(what: str, check):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def beat_tick(folder) -> DatabaseScheduler:
    """A beat process's scheduler, freshly loaded from the database, ticked until idle."""
    # As ``celery beat`` builds it: the scheduler named by CELERY_BEAT_SCHEDULER.
    scheduler = Service(app, scheduler_cls=app.conf.beat_scheduler,
                        schedule_filename=str(folder / "celerybeat-schedule")).get_scheduler()
    assert isinstance(scheduler, DatabaseScheduler)
    for _ in range(10):
        if scheduler.tick() > 0:  # 0: it just sent something and may have more
            break
    return scheduler


def generate_results() -> list[TaskResult]:
    return list(TaskResult.objects.filter(task_name=GENERATE, status="SUCCESS"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_beat_fires_the_report_once_and_a_duplicated_tick_adds_nothing(filesystem_broker,
                                                                      tmp_path):
    workspace = WorkspaceFactory()
    add_sales(workspace)
    owner = MembershipFactory(workspace=workspace, role="owner").user
    recipients = [MembershipFactory(workspace=workspace, role=role).user
                  for role in ("admin", "member", "viewer")]
    # Daily, due half an hour ago and not again for 23.5 h: the slot cannot change mid-test.
    due = timezone.now() - timedelta(minutes=30)
    definition = ReportDefinitionFactory(
        workspace=workspace, kind="regional_sales", parameters=dict(Q1_2025), owner=owner,
        recipients=recipients, schedule_cron=f"{due.minute} {due.hour} * * *",
        schedule_timezone="UTC")
    slot = previous_fire(definition.cron(), timezone.now())
    # Beat last ran it two days ago, so today's time is due now.
    PeriodicTask.objects.filter(pk=definition.periodic_task_id).update(
        last_run_at=timezone.now() - timedelta(days=2))

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        first_beat = beat_tick(tmp_path)
        wait_for("the report and its emails", lambda: ReportDelivery.objects.filter(
            status=ReportDelivery.Status.SENT).count() == len(recipients))
        run = ReportRun.objects.get()
        assert run.definition_id == definition.pk and run.trigger == "schedule"
        assert run.slot == slot and run.status == ReportRun.Status.SUCCEEDED
        assert len(generate_results()) == 1

        # A second beat that read the schedule before the first saved its last run.
        PeriodicTask.objects.filter(pk=definition.periodic_task_id).update(
            last_run_at=timezone.now() - timedelta(days=2))
        second_beat = beat_tick(tmp_path)
        wait_for("the duplicated tick", lambda: len(generate_results()) == 2)
        time.sleep(1)  # anything it wrongly queued would be picked up by now

    first, duplicate = sorted(generate_results(), key=lambda r: r.date_done)
    assert "'tick_at':" in first.task_kwargs  # stamped by beat's process on sending
    assert json.loads(duplicate.result) == {"run": run.pk, "status": "succeeded",
                                            "slot": slot.isoformat()}
    assert ReportRun.objects.count() == 1
    assert ReportDelivery.objects.count() == len(recipients)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in recipients)
    message = mail.outbox[0]
    assert message.subject == f"{definition.name} (2025-01-01 to 2025-03-31)"
    assert any(a[0] == "sales_by_state.csv" for a in message.attachments)
    run.refresh_from_db()
    assert run.attempts == 1 and sorted(run.delivered_to) == sorted(u.email
                                                                    for u in recipients)
    for scheduler in (first_beat, second_beat):
        scheduler.close()

"""A report run whose worker is killed mid-build is requeued by the reaper and built once."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from reports.models import ReportDelivery, ReportRun
from reports.services import runs
from tests import dead_worker

S = ReportRun.Status


@pytest.fixture
def workers(settings):
    yield from dead_worker.redis_workers(settings)


@pytest.mark.django_db
def test_the_reaper_requeues_a_running_run_whose_heartbeat_stopped(
        definition, settings, django_capture_on_commit_callbacks):
    run, _ = runs.run_create(definition, trigger=ReportRun.Trigger.MANUAL)
    ReportRun.objects.filter(pk=run.pk).update(status=S.RUNNING, attempts=1,
                                               started_at=timezone.now())
    assert runs.reports_reap()["runs"] == 0  # it beat just now: alive
    ReportRun.objects.filter(pk=run.pk).update(
        updated_at=timezone.now() - timedelta(seconds=settings.REPORT_STALE_SECONDS + 1))
    with django_capture_on_commit_callbacks(execute=True):
        assert runs.reports_reap()["runs"] == 1
    run.refresh_from_db()  # built by the (eager) task the reaper queued
    assert run.status == S.SUCCEEDED and run.attempts == 2 and run.error == ""
    assert ReportDelivery.objects.filter(run=run, status=ReportDelivery.Status.SENT).count() \
        == definition.recipients.count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_run_is_requeued_within_the_bound_and_built_once(definition, settings,
                                                                         workers):
    """SIGKILL a real Celery worker (Redis, PostgreSQL) stuck in a long build: while it
    lives its heartbeat keeps the reaper off; once dead, the run is requeued when the
    heartbeat is stale and another worker builds and delivers it, once."""
    settings.REPORT_STALE_SECONDS = dead_worker.STALE
    first = workers.start(hang=True)
    run = runs.run_request(definition, trigger=ReportRun.Trigger.API)  # queued on commit

    def running():
        run.refresh_from_db()
        return run.status == S.RUNNING

    dead_worker.wait_for("the worker to start the build", running, process=first)
    # Alive but slow, for longer than the stale cutoff: the heartbeat thread keeps
    # touching the run, and the reaper leaves it alone.
    claimed_at = run.updated_at
    time.sleep(dead_worker.STALE + 1)
    assert runs.reports_reap()["runs"] == 0
    run.refresh_from_db()
    assert run.status == S.RUNNING and run.attempts == 1
    assert run.updated_at > claimed_at + timedelta(seconds=dead_worker.STALE)

    killed_at = workers.kill(first)
    run.refresh_from_db()
    last_beat = run.updated_at

    def requeued():
        run.refresh_from_db()
        return run.status == S.PENDING

    dead_worker.reap_until_requeued(runs.reports_reap, requeued)
    requeued_at = run.updated_at
    dead_worker.report("report run", run.pk, killed_at, last_beat, requeued_at)
    assert "worker stopped during attempt 1; queued again" in run.error
    assert (requeued_at - last_beat).total_seconds() >= dead_worker.STALE
    assert (requeued_at - killed_at).total_seconds() <= (
        dead_worker.STALE + dead_worker.POLL + 1)

    second = workers.start()

    def delivered():
        return ReportDelivery.objects.filter(run=run, status=ReportDelivery.Status.SENT) \
            .count() == definition.recipients.count()

    dead_worker.wait_for("another worker to build and deliver the run", delivered,
                         timeout=120, process=second)
    run.refresh_from_db()
    assert run.status == S.SUCCEEDED and run.attempts == 2 and run.error == ""
    assert ReportRun.objects.filter(definition=definition).count() == 1

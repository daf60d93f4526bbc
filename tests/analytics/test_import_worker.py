"""Import jobs on Celery: queued on commit, idempotent, and never left running by a dead worker."""

from datetime import timedelta

import pytest
from django.core.files import File
from django.utils import timezone

from analytics.models import ImportJob, SaleRecord
from analytics.sample import generate
from analytics.services.imports import import_jobs_create, import_jobs_reap
from analytics.tasks import run_import
from tests import dead_worker
from tests.factories import WorkspaceFactory

from .helpers import csv_file, sale

S = ImportJob.Status


@pytest.mark.django_db
def test_an_upload_is_queued_on_commit_and_run_by_the_task(django_capture_on_commit_callbacks):
    workspace = WorkspaceFactory()
    with django_capture_on_commit_callbacks(execute=True):
        [job] = import_jobs_create(workspace=workspace,
                                   uploads={"sales": csv_file("sales", [sale(), sale()])})
    job.refresh_from_db()
    assert job.status == S.SUCCEEDED and job.attempts == 1
    # A redelivered or duplicated message finds the job finished and does nothing.
    assert run_import.apply(args=[[job.pk]]).get() == {}
    job.refresh_from_db()
    assert job.attempts == 1 and SaleRecord.objects.filter(workspace=workspace).count() == 2


@pytest.mark.django_db
def test_the_reaper_requeues_a_silent_job_then_gives_up(settings,
                                                        django_capture_on_commit_callbacks):
    workspace = WorkspaceFactory()
    [job] = import_jobs_create(workspace=workspace, enqueue=False,
                               uploads={"sales": csv_file("sales", [sale()])})
    # A heartbeat within BI_IMPORT_STALE_SECONDS: a live worker, left alone.
    ImportJob.objects.filter(pk=job.pk).update(status=S.RUNNING, attempts=1,
                                               heartbeat_at=timezone.now())
    assert import_jobs_reap() == {"requeued": 0, "failed": 0}
    # Silent for longer (seconds, not the ten minutes it used to take): requeued.
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(
        seconds=settings.BI_IMPORT_STALE_SECONDS + 1))
    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_reap() == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
    assert job.status == S.SUCCEEDED and job.attempts == 2
    ImportJob.objects.filter(pk=job.pk).update(status=S.RUNNING, attempts=3,
                                               heartbeat_at="2020-01-01T00:00Z")
    assert import_jobs_reap() == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == S.FAILED and "worker stopped" in job.message


@pytest.fixture
def workers(settings):
    yield from dead_worker.redis_workers(settings)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_import_is_requeued_within_the_bound_and_loaded_once(tmp_path,
                                                                               settings,
                                                                               workers):
    """SIGKILL a real Celery worker (Redis, PostgreSQL) mid-import: no rows are left, the
    reaper requeues the job once its heartbeat is stale, and another worker loads it."""
    settings.BI_IMPORT_STALE_SECONDS = dead_worker.STALE
    files = generate(tmp_path, sales_rows=300_000, inventory_rows=10, seed=7)
    workspace = WorkspaceFactory()
    first = workers.start()
    with files.sales.open("rb") as upload:  # queued on commit, to this test's Redis queue
        [job] = import_jobs_create(workspace=workspace,
                                   uploads={"sales": File(upload, name=files.sales.name)})

    def running():
        job.refresh_from_db()
        return job.status == S.RUNNING and job.progress > 0

    dead_worker.wait_for("the worker to start the import", running, process=first)
    killed_at = workers.kill(first)
    job.refresh_from_db()
    assert job.status == S.RUNNING and job.progress < 100 and job.attempts == 1
    assert not SaleRecord.objects.filter(workspace=workspace).exists()
    last_beat = job.heartbeat_at

    def requeued():
        job.refresh_from_db()
        return job.status == S.PENDING

    dead_worker.reap_until_requeued(import_jobs_reap, requeued)
    requeued_at = job.updated_at  # written by the reaper pass that requeued it
    dead_worker.report("import job", job.pk, killed_at, last_beat, requeued_at)
    assert "worker stopped during attempt 1; queued again" in job.message
    # Not before its heartbeat was stale (a live worker is never taken for dead) ...
    assert (requeued_at - last_beat).total_seconds() >= dead_worker.STALE
    # ... and by the first reaper pass after that: stale + one reaper interval after the
    # kill, with a second of slack for a busy machine.
    assert (requeued_at - killed_at).total_seconds() <= (
        dead_worker.STALE + dead_worker.POLL + 1)

    second = workers.start()

    def finished():
        job.refresh_from_db()
        return job.is_finished

    dead_worker.wait_for("another worker to run the requeued import", finished, timeout=120,
                         process=second)
    assert job.status == S.SUCCEEDED and job.attempts == 2, job.message
    assert SaleRecord.objects.filter(workspace=workspace).count() == 300_000


@pytest.mark.django_db
def test_an_unexpected_error_fails_the_job_instead_of_leaving_it_running(monkeypatch):
    from analytics.pipeline import load

    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(load, "load_rows", broken)
    workspace = WorkspaceFactory()
    [job] = import_jobs_create(workspace=workspace, enqueue=False,
                               uploads={"sales": csv_file("sales", [sale()])})
    run_import.apply(args=[[job.pk]]).get()
    job.refresh_from_db()
    assert job.status == S.FAILED and "internal error" in job.message
    assert not SaleRecord.objects.filter(workspace=workspace).exists()

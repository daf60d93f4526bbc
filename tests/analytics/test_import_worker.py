"""Import jobs on Celery: queued on commit, idempotent, and never left running by a dead worker."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.files import File
from django.db import connection

from analytics.models import ImportJob, SaleRecord
from analytics.pipeline.run import is_owned_elsewhere
from analytics.sample import generate
from analytics.services.imports import import_jobs_create, import_jobs_reap
from analytics.tasks import run_import
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
    settings.BI_IMPORT_STALE_MINUTES = 0
    workspace = WorkspaceFactory()
    [job] = import_jobs_create(workspace=workspace, enqueue=False,
                               uploads={"sales": csv_file("sales", [sale()])})
    ImportJob.objects.filter(pk=job.pk).update(status=S.RUNNING, attempts=1,
                                               heartbeat_at="2020-01-01T00:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_reap() == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
    assert job.status == S.SUCCEEDED and job.attempts == 2
    ImportJob.objects.filter(pk=job.pk).update(status=S.RUNNING, attempts=3,
                                               heartbeat_at="2020-01-01T00:00Z")
    assert import_jobs_reap() == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == S.FAILED and "worker stopped" in job.message


def _database_url() -> str:
    s = connection.settings_dict
    return (f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:"
            f"{s['PORT'] or 5432}/{s['NAME']}")


WORKER = """
import sys, django
django.setup()
from analytics.pipeline.run import run_jobs
run_jobs([int(sys.argv[1])])
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_leaves_no_rows_and_the_job_is_run_again(
        tmp_path, settings, django_capture_on_commit_callbacks):
    settings.BI_IMPORT_STALE_MINUTES = 0
    files = generate(tmp_path, sales_rows=300_000, inventory_rows=10, seed=7)
    workspace = WorkspaceFactory()
    with files.sales.open("rb") as upload:
        [job] = import_jobs_create(workspace=workspace, enqueue=False,
                                   uploads={"sales": File(upload, name=files.sales.name)})
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
           "DATABASE_URL": _database_url(), "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(job.pk)], env=env,
                              stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if (job.status == S.RUNNING and job.progress > 0) or worker.poll() is not None:
            break
        time.sleep(0.05)
    assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    job.refresh_from_db()
    assert job.status == S.RUNNING and job.progress < 100
    assert not SaleRecord.objects.filter(workspace=workspace).exists()
    # The server ends the dead worker's session (and its lock) when it sees the socket close.
    deadline = time.monotonic() + 30
    while is_owned_elsewhere(job.pk) and time.monotonic() < deadline:
        time.sleep(0.1)
    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_reap() == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
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

"""Celery tasks for BI imports."""

from celery import shared_task

from .pipeline.run import TRANSIENT_ERRORS, run_jobs
from .services.imports import import_jobs_reap


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=TRANSIENT_ERRORS, retry_backoff=5,
             retry_jitter=True, max_retries=3)
def run_import(self, job_ids: list[int]) -> dict:
    """Run a batch of import jobs.

    Idempotent: finished jobs are skipped and a job held by a live worker is
    left alone, so a redelivered or duplicated message does no harm.  A
    transient database error retries the batch; everything a job writes is
    in one transaction, so a retry starts clean.
    """
    jobs = run_jobs(job_ids)
    return {job.pk: job.status for job in jobs}


@shared_task(acks_late=True)
def reap_import_jobs() -> dict:
    """Jobs whose worker died are queued again or failed, never left running."""
    return import_jobs_reap()


# Exports and rollups; month partitions ahead and retention.
from . import tasks_dashboards, tasks_events  # noqa: E402, F401

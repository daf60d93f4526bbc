"""The domain events analytics emits (core.events): an import job finished.

Registered in ``AnalyticsConfig.ready()``; emitted by the import pipeline when
a job's status becomes final, and dispatched once that change commits.
"""

from __future__ import annotations

from core import events

IMPORT_SUCCEEDED = "analytics.import.succeeded"
IMPORT_FAILED = "analytics.import.failed"


def register() -> None:
    events.register(IMPORT_SUCCEEDED, version=1,
                    description="A BI CSV import loaded its rows. Payload: job, dataset, "
                                "original_name, rows_total, rows_imported, rows_rejected, "
                                "message.")
    events.register(IMPORT_FAILED, version=1,
                    description="A BI CSV import failed; nothing was loaded. Payload as "
                                "for analytics.import.succeeded.")


def import_finished(job) -> None:
    """Announce a job that has just succeeded or failed (other statuses: nothing)."""
    from .models import ImportJob

    name = {ImportJob.Status.SUCCEEDED: IMPORT_SUCCEEDED,
            ImportJob.Status.FAILED: IMPORT_FAILED}.get(job.status)
    if name is None:
        return
    events.emit(name, {
        "job": job.pk, "dataset": job.dataset, "status": job.status,
        "original_name": job.original_name, "rows_total": job.rows_total,
        "rows_imported": job.rows_imported, "rows_rejected": job.rows_rejected,
        "message": job.message,
    }, workspace_id=job.workspace_id)

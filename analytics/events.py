"""The domain events analytics emits (core.events): an import job finished.

Registered in ``AnalyticsConfig.ready()``; emitted by the import pipeline when
a job's status becomes final, and dispatched once that change commits.
"""

from __future__ import annotations

from core import events

IMPORT_SUCCEEDED = "analytics.import.succeeded"
IMPORT_FAILED = "analytics.import.failed"

_COUNT = {"type": "integer", "minimum": 0}


def _import_schema(status: str) -> dict:
    properties = {
        "job": {"type": "integer", "minimum": 1, "description": "The import job's id."},
        "dataset": {"enum": ["inventory", "sales", "contacts"]},
        "status": {"const": status},
        "original_name": {"type": "string", "description": "The uploaded file's name."},
        "rows_total": {**_COUNT, "description": "Data rows in the file."},
        "rows_imported": {**_COUNT, "description": "Rows loaded (0 when it failed)."},
        "rows_rejected": {**_COUNT, "description": "Rows refused as invalid."},
        "message": {"type": "string", "description": "The outcome in words (why it "
                                                     "failed, what was skipped)."},
    }
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


IMPORT_SUCCEEDED_SCHEMA = _import_schema("succeeded")
IMPORT_FAILED_SCHEMA = _import_schema("failed")


def register() -> None:
    events.register(IMPORT_SUCCEEDED, version=1, schema=IMPORT_SUCCEEDED_SCHEMA,
                    description="A BI CSV import loaded its rows.")
    events.register(IMPORT_FAILED, version=1, schema=IMPORT_FAILED_SCHEMA,
                    description="A BI CSV import failed; nothing was loaded.")


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

"""Driving jobs through the pipeline: claim, stage and validate, then load atomically."""

from __future__ import annotations

import csv
import io
import logging
import re
import tempfile
from collections.abc import Callable
from zoneinfo import ZoneInfo

import psycopg
from django.conf import settings
from django.core.files import File
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from core import locks
from core.heartbeat import Heartbeat, touch_unlocked

from .. import events
from ..models import ImportJob
from . import formats, load
from .reader import HeaderError, Source
from .staging import Staging, staging_for

log = logging.getLogger(__name__)
PREVIEW_ERRORS = 50
STAGE_SHARE = 80  # percent of the progress bar spent reading the file
NO_DATA_ROWS = ("The file has a header line but no data rows (blank lines do not count); "
                "nothing was loaded.")
LOCK_KEY = 731_001  # advisory-lock namespace for running import jobs
# Worth a retry: the database went away.  PostgreSQL staging runs on a psycopg
# connection of its own, whose errors are psycopg's rather than Django's.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError)


def source_time_zone(job: ImportJob) -> ZoneInfo:
    name = (job.workspace.settings or {}).get("bi_source_time_zone") \
        or settings.BI_SOURCE_TIME_ZONE
    return ZoneInfo(name)


# A spreadsheet runs a cell that starts like this as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"^-?[0-9]+([.,][0-9]+)?$")


def defuse(cell):
    """A report cell that opens as text in Excel or LibreOffice, never as a formula.

    The file's values are quoted back in the report; one that would start a
    formula gets a leading apostrophe (OWASP's advice).  Plain negative numbers
    stay as they are: they cannot run anything, and show why the row is bad.
    """
    if not isinstance(cell, str) or not cell.lstrip(" ").startswith(_FORMULA_START) \
            or _PLAIN_NUMBER.match(cell.strip()):
        return cell
    return "'" + cell


class _Rejected(Exception):
    """Rolls back a job's rows when an atomic import finds bad ones."""


class JobRun:
    """One job's staging on this connection, and its bookkeeping."""

    def __init__(self, job: ImportJob, on_progress: Callable[[ImportJob], None] | None):
        self.job, self.on_progress = job, on_progress
        try:
            self.tz = source_time_zone(job)
        except (LookupError, ValueError, TypeError):  # ZoneInfoNotFoundError: a KeyError
            self.tz = None
        self.staging: Staging | None = None
        self._last_percent = -1

    def progress(self, percent: int) -> None:
        percent = max(0, min(100, percent))
        if percent == self._last_percent:
            return
        self._last_percent = self.job.progress = percent
        ImportJob.objects.filter(pk=self.job.pk).update(progress=percent,
                                                        heartbeat_at=timezone.now())
        if self.on_progress:
            self.on_progress(self.job)

    def stage(self) -> bool:
        """Read the file into staging; False when the job has already failed."""
        job = self.job
        if self.tz is None:
            name = (job.workspace.settings or {}).get("bi_source_time_zone")
            self._finish(ImportJob.Status.FAILED,
                         f"The workspace setting bi_source_time_zone ({name!r}) is not a "
                         "time zone name such as America/Sao_Paulo; nothing was loaded.")
            return False
        with job.file.open("rb") as fileobj:
            try:
                source = Source(fileobj, job.dataset, encoding=job.encoding,
                                delimiter=job.delimiter)
            except (HeaderError, LookupError) as exc:
                errors = exc.errors if isinstance(exc, HeaderError) else [
                    ("", job.encoding, f"is not an encoding Python knows ({exc})")]
                summary = getattr(exc, "summary", "The header line cannot be used")
                self._fail_with([(1, c, v, r) for c, v, r in errors],
                                f"{summary}; nothing was loaded.")
                return False
            job.encoding, job.delimiter = source.encoding, source.delimiter
            self.staging = staging_for(job, self.tz)
            size = max(job.size, 1)
            job.rows_total = self.staging.stage(
                source, lambda: self.progress(source.bytes_read * STAGE_SHARE // size))
        if job.rows_total == 0:
            # Succeeding with "Loaded 0 of 0 rows" hid a wrong export; a replace would
            # even have swapped the earlier rows for nothing.
            self._finish(ImportJob.Status.FAILED, NO_DATA_ROWS)
            return False
        return True

    def load(self) -> bool:
        """Insert the valid rows (in a savepoint); False when the job fails instead."""
        job = self.job
        if job.replaces_id and not ImportJob.objects.filter(
                pk=job.replaces_id, status=ImportJob.Status.SUCCEEDED).exists():
            # Another import replaced it since this one was queued (the workspace is
            # locked now): loading would leave both new imports' rows in place.
            self._finish(ImportJob.Status.FAILED,
                         f"Import #{job.replaces_id} is no longer a succeeded import (it was "
                         "replaced meanwhile); nothing was loaded or removed. Upload again "
                         "to replace the current rows.")
            return False
        try:
            with transaction.atomic():
                job.rows_imported = load.load_rows(job, self.staging, str(self.tz))
                if job.rows_imported < job.rows_total and not job.skip_invalid:
                    raise _Rejected
        except _Rejected:
            job.rows_imported = 0
        if job.rows_imported < job.rows_total:
            self.staging.record_errors()
            problems, bad_lines = self.staging.error_count()
            job.error_count, job.rows_rejected = problems, bad_lines
            self._write_report(self.staging.errors())
            job.errors_preview = [list(e) for e in self.staging.errors(limit=PREVIEW_ERRORS)]
            if not job.skip_invalid:
                self._finish(ImportJob.Status.FAILED,
                             f"{problems} problem(s) on {bad_lines} line(s); nothing was "
                             "loaded. Fix the file, or import with skip_invalid to load the "
                             "valid rows.")
                return False
        return True

    # The bookkeeping other formats use (``formats``): one copy for every kind of file.
    def fail_with(self, errors: list[tuple], message: str) -> None:
        """Fail the job with ``errors`` ((line, column, value, reason)) as its report."""
        self._fail_with(errors, message)

    def write_report(self, errors) -> None:
        self._write_report(errors)

    def finish(self, status: str, message: str) -> None:
        self._finish(status, message)

    def _fail_with(self, errors: list[tuple], message: str) -> None:
        self.job.error_count = len(errors)
        self.job.errors_preview = [list(e) for e in errors[:PREVIEW_ERRORS]]
        self._write_report(iter(errors))
        self._finish(ImportJob.Status.FAILED, message)

    def _write_report(self, errors) -> None:
        with tempfile.SpooledTemporaryFile(max_size=1024 * 1024, mode="w+b") as spool:
            text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
            writer = csv.writer(text)
            writer.writerow(["line", "column", "value", "reason"])
            writer.writerows([defuse(cell) for cell in error] for error in errors)
            text.flush()
            spool.seek(0)
            self.job.error_report.save(self.job.error_report_name, File(spool), save=False)
            text.detach()

    def _finish(self, status: str, message: str) -> None:
        job = self.job
        job.status, job.message, job.finished_at = status, message, timezone.now()
        if status == ImportJob.Status.SUCCEEDED:
            job.progress = 100
        job.save()
        events.import_finished(job)  # dispatched when this change commits
        if self.on_progress:  # the last word: a bar at 100 %, or the failure
            self.on_progress(job)


def claim(job_id: int) -> ImportJob | None:
    """Take a job for this worker, or None if it is finished or another worker has it."""
    if not locks.job_lock_take(LOCK_KEY, job_id):
        return None
    job = ImportJob.objects.select_related("workspace").filter(pk=job_id).first()
    if job is None or job.is_finished:
        release(job_id)
        return None
    if job.attempts >= settings.BI_IMPORT_MAX_ATTEMPTS:
        job.status, job.finished_at = ImportJob.Status.FAILED, timezone.now()
        job.message = (f"Gave up after {job.attempts} attempts; the worker stopped each "
                       "time. Nothing was loaded.")
        job.save()
        events.import_finished(job)
        release(job_id)
        return None
    now = timezone.now()
    job.status, job.attempts, job.heartbeat_at = ImportJob.Status.RUNNING, job.attempts + 1, now
    job.started_at = job.started_at or now
    job.save(update_fields=["status", "attempts", "heartbeat_at", "started_at", "updated_at"])
    return job


def release(job_id: int) -> None:
    locks.job_lock_release(LOCK_KEY, job_id)


def is_owned_elsewhere(job_id: int) -> bool:
    """True when a live worker holds the job (PostgreSQL); SQLite cannot tell."""
    return locks.job_lock_held_elsewhere(LOCK_KEY, job_id)


def run_jobs(job_ids: list[int], on_progress=None) -> list[ImportJob]:
    """Run jobs uploaded together; clients are derived from all their files at once."""
    runs: list[JobRun] = []
    try:
        for job_id in job_ids:
            job = claim(job_id)
            if job is not None:
                runs.append(JobRun(job, on_progress))
        with Heartbeat(lambda: _beat(runs), settings.BI_IMPORT_HEARTBEAT_SECONDS,
                       name=f"import-heartbeat-{job_ids}"):
            for run in runs:  # another app's format runs each job on its own
                if (fmt := formats.get(run.job.dataset)) is not None:
                    fmt.run(run)
            bi_runs = [run for run in runs if formats.get(run.job.dataset) is None]
            staged = [run for run in bi_runs if run.stage()]
            if staged:
                for run in staged:
                    run.progress(STAGE_SHARE)
                _load(staged)
        return [run.job for run in runs]
    except TRANSIENT_ERRORS:
        raise  # transient: the task retries, and a retry starts clean
    except Exception:
        # A fault of ours or of the file that slipped past validation: the user
        # sees a failed job with a reference, the log gets the traceback.
        log.exception("import jobs %s failed", job_ids)
        _fail_unfinished(runs)
        return [run.job for run in runs]
    finally:
        for run in runs:
            if run.staging is not None:
                run.staging.close()
            release(run.job.pk)


def _beat(runs: list[JobRun]) -> None:
    """The jobs' sign of life for the reaper (``import_jobs_reap``), from the heartbeat thread."""
    touch_unlocked(ImportJob.objects.filter(pk__in=[run.job.pk for run in runs],
                                            status=ImportJob.Status.RUNNING),
                   heartbeat_at=timezone.now())


def _fail_unfinished(runs: list[JobRun]) -> None:
    if connection.in_atomic_block and connection.needs_rollback:
        return  # inside a caller's transaction (seed_demo): let it roll back
    for run in runs:
        # From the database: a job finished in memory inside the rolled-back load
        # transaction is still running there.
        run.job.refresh_from_db()
        if not run.job.is_finished:
            run._finish(ImportJob.Status.FAILED,
                        f"The import stopped on an internal error (job #{run.job.pk}, see "
                        "the server log); nothing was loaded.")


def _load(runs: list[JobRun]) -> None:
    workspace_id = runs[0].job.workspace_id
    with transaction.atomic():
        load.lock_workspace(workspace_id)
        new_clients = load.clients_add(workspace_id, [r.staging for r in runs])
        loaded = [run for run in runs if run.load()]
        created = load.clients_settle(workspace_id, new_clients)
        for run in loaded:
            job = run.job
            removed = load.remove_replaced(job)
            job.clients_created = created
            parts = [f"Loaded {job.rows_imported} of {job.rows_total} rows"]
            if job.rows_rejected:
                parts.append(f"skipped {job.rows_rejected} invalid line(s) (see the report)")
            if job.replaces_id:
                parts.append(f"replaced {removed} rows of import #{job.replaces_id}")
            if created:
                parts.append(f"created {created} client(s) for this batch")
            run._finish(ImportJob.Status.SUCCEEDED, "; ".join(parts) + ".")

"""Starting BI imports: one entry point for the admin, the API and ``import_csv``.

An upload becomes an ImportJob (checksummed, deduplicated) and a Celery task
runs it through ``analytics.pipeline``.  Files uploaded together form one
batch, so their clients are numbered together as the predecessor did.
"""

from __future__ import annotations

import codecs
import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import events
from ..formats import DATASETS
from ..models import ImportJob
from ..pipeline.reader import detect_encoding, is_wide


def import_jobs_create(*, workspace, uploads: dict, by=None, mode: str = ImportJob.Mode.APPEND,
                       replaces: ImportJob | None = None, skip_invalid: bool = False,
                       delimiter: str = "", encoding: str = "",
                       enqueue: bool = True) -> list[ImportJob]:
    """Create a job per ``{dataset: upload}`` and queue them as one batch.

    A file already imported into the same dataset (same SHA-256) gives a job
    with status ``duplicate`` that points at the earlier import and loads nothing.
    """
    errors = {}
    unknown = set(uploads) - set(DATASETS)
    if unknown or not uploads:
        errors["dataset"] = [f"Choose one of: {', '.join(DATASETS)}."]
    if delimiter and len(delimiter) != 1:
        errors["delimiter"] = ["A delimiter is a single character."]
    elif delimiter and not delimiter_usable(delimiter):
        errors["delimiter"] = ["A delimiter is a tab or a punctuation mark such as | ; , "
                               "(not a letter, digit, space, quote or line break)."]
    if encoding:
        try:
            "".encode(encoding)
        except LookupError:
            errors["encoding"] = [f"Unknown encoding {encoding!r}."]
    for upload in uploads.values():
        if upload.size > settings.BI_IMPORT_MAX_BYTES:
            errors["file"] = [f"Files may be at most {settings.BI_IMPORT_MAX_BYTES} bytes."]
        elif problem := upload_problem(upload, encoding):
            errors["file"] = [problem]
    if mode == ImportJob.Mode.REPLACE and len(uploads) != 1:
        errors["mode"] = ["Replace one dataset at a time."]
    if errors:
        raise ValidationError(errors)
    jobs = []
    with transaction.atomic():
        for dataset, upload in uploads.items():
            target = _replace_target(workspace, dataset, mode, replaces)
            jobs.append(_job_create(workspace, dataset, upload, by=by, mode=mode,
                                    replaces=target, skip_invalid=skip_invalid,
                                    delimiter=delimiter, encoding=encoding))
        runnable = [job.pk for job in jobs if job.status == ImportJob.Status.PENDING]
        if runnable and enqueue:
            # Robust: the jobs are saved whatever the broker says; if it is down, the
            # upload still answers, and the reaper sends pending jobs again.
            transaction.on_commit(lambda: import_jobs_enqueue(runnable), robust=True)
    return jobs


# Enough of the file to tell text from a spreadsheet, archive or image.
SNIFF_BYTES = 64 * 1024


def delimiter_usable(delimiter: str) -> bool:
    """One character that can split CSV the same way in Python and PostgreSQL's COPY."""
    return delimiter == "\t" or (len(delimiter) == 1 and delimiter.isascii()
                                  and delimiter.isprintable() and not delimiter.isalnum()
                                  and delimiter not in "\" ")


def upload_problem(upload, encoding: str = "") -> str | None:
    """Why ``upload`` cannot be a BI CSV file at all, or None: checked before a job exists.

    Text never holds NUL bytes unless it is UTF-16/32; an ``.xlsx`` (a zip), a PDF
    or an image always does, and would otherwise fail later on its "header".
    """
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    if is_blank(head, encoding) and upload.size <= len(head):
        # Refused here, before a job exists, so every door answers alike (the API
        # and admin used to refuse it, the command made a failed job of it).
        return ("The file is empty: a BI file starts with a header line naming its "
                "columns, followed by the data rows.")
    if is_wide(encoding or detect_encoding(head)):  # UTF-16/32 text is full of NULs
        return None
    if b"\x00" in head:
        return ("This is not a CSV text file (it holds binary data, as spreadsheets, "
                "archives and images do). Save it as CSV and upload that.")
    return None


def is_blank(head: bytes, encoding: str = "") -> bool:
    """True for bytes that hold no text but byte-order marks and line breaks or spaces."""
    wide = is_wide(encoding or detect_encoding(head))
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE,
                codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if head.startswith(bom):
            head = head[len(bom):]
            break
    return not head.strip(b" \t\r\n" + (b"\x00" if wide else b""))


def import_jobs_enqueue(job_ids: list[int]) -> None:
    from ..tasks import run_import  # tasks import services; import late to avoid a cycle

    run_import.delay(job_ids)


def _replace_target(workspace, dataset, mode, replaces):
    if mode != ImportJob.Mode.REPLACE:
        if replaces is not None:
            raise ValidationError({"replaces": ["Only a replace import replaces another."]})
        return None
    if replaces is None:
        replaces = (ImportJob.objects.filter(workspace=workspace, dataset=dataset,
                                             status=ImportJob.Status.SUCCEEDED)
                    .order_by("-finished_at", "-pk").first())
        if replaces is None:
            raise ValidationError({"replaces": [f"There is no finished {dataset} import in "
                                                "this workspace to replace."]})
    elif (replaces.workspace_id != workspace.pk or replaces.dataset != dataset
          or replaces.status != ImportJob.Status.SUCCEEDED):
        raise ValidationError({"replaces": ["Choose a succeeded import of the same dataset "
                                            "in the same workspace."]})
    return replaces


def job_create(workspace, dataset, upload, **fields) -> ImportJob:
    """A job for ``upload`` (checksummed; a duplicate job when the same file of the same
    dataset is already imported or on its way), for any registered format."""
    return _job_create(workspace, dataset, upload, **fields)


def _job_create(workspace, dataset, upload, **fields) -> ImportJob:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    by = fields.pop("by", None)
    job = ImportJob(workspace=workspace, dataset=dataset, checksum=digest.hexdigest(),
                    original_name=upload.name[:255], size=upload.size,
                    created_by=by if getattr(by, "pk", None) else None, **fields)
    earlier = _active_same_file(job)
    if earlier is None:
        job.file.save(upload.name, upload, save=False)
        try:
            with transaction.atomic():
                job.save()
            return job
        except IntegrityError:  # the same file arrived at the same moment
            earlier = _active_same_file(job)
    job.status, job.duplicate_of, job.finished_at = (ImportJob.Status.DUPLICATE, earlier,
                                                     timezone.now())
    job.progress = 100
    job.message = (f"This file was already imported as #{earlier.pk} "
                   f"({earlier.get_status_display().lower()}); nothing was loaded.")
    job.save()
    return job


def _active_same_file(job: ImportJob) -> ImportJob | None:
    return (ImportJob.objects.filter(workspace_id=job.workspace_id, dataset=job.dataset,
                                     checksum=job.checksum, status__in=ImportJob.ACTIVE)
            .order_by("pk").first())


def import_jobs_reap() -> dict[str, int]:
    """Resolve running jobs whose worker went quiet: queue them again, or fail them;
    send pending jobs that waited too long again.

    A live worker writes the job's heartbeat every ``BI_IMPORT_HEARTBEAT_SECONDS``
    (``analytics.pipeline.run``); after ``BI_IMPORT_STALE_SECONDS`` without one the
    worker is taken for dead, unless (PostgreSQL) it still holds the job's advisory
    lock, so a slow job is never taken for a dead one.  Run every ``REAPER_INTERVAL``
    by beat: a dead worker's job is requeued within stale + interval seconds.
    """
    from ..pipeline.run import is_owned_elsewhere

    now = timezone.now()
    outcome = {"requeued": 0, "failed": 0}
    # Pending this long: its message may never have reached the broker (it was down
    # at upload).  Sending it again is harmless: a job runs once (see ``claim``).
    waiting_cutoff = now - timedelta(minutes=settings.BI_IMPORT_REQUEUE_MINUTES)
    waiting = list(ImportJob.objects.filter(status=ImportJob.Status.PENDING,
                                            updated_at__lt=waiting_cutoff)
                   .values_list("pk", flat=True))
    for pk in waiting:
        if is_owned_elsewhere(pk):
            continue
        if ImportJob.objects.filter(pk=pk, status=ImportJob.Status.PENDING).update(
                updated_at=timezone.now()):
            transaction.on_commit(lambda pk=pk: import_jobs_enqueue([pk]), robust=True)
            outcome["requeued"] += 1
    stale_cutoff = now - timedelta(seconds=settings.BI_IMPORT_STALE_SECONDS)
    stale = ImportJob.objects.filter(status=ImportJob.Status.RUNNING,
                                     heartbeat_at__lt=stale_cutoff)
    for job in stale:
        if is_owned_elsewhere(job.pk):
            continue
        # Conditional on the heartbeat still being stale: a job that finished, or
        # beat, since it was read is left alone.
        still_stale = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING,
                                               heartbeat_at__lt=stale_cutoff)
        if job.attempts >= settings.BI_IMPORT_MAX_ATTEMPTS:
            if still_stale.update(
                    status=ImportJob.Status.FAILED, finished_at=timezone.now(),
                    updated_at=timezone.now(),
                    message=f"The worker stopped during attempt {job.attempts} of "
                            f"{settings.BI_IMPORT_MAX_ATTEMPTS}; nothing was loaded."):
                job.refresh_from_db()
                events.import_finished(job)
                outcome["failed"] += 1
        elif still_stale.update(
                status=ImportJob.Status.PENDING, updated_at=timezone.now(),
                message=f"The worker stopped during attempt {job.attempts}; queued again."):
            transaction.on_commit(lambda pk=job.pk: import_jobs_enqueue([pk]), robust=True)
            outcome["requeued"] += 1
    return outcome

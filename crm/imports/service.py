"""Starting a contact import: the one entry point of the API, the admin and
``manage.py import_contacts``.

An upload becomes an ``analytics.ImportJob`` of dataset ``contacts`` (checksummed: the
same file is loaded once per workspace; a re-upload answers with a ``duplicate`` job
pointing at the first) and runs on the worker (``analytics.tasks.run_import``), with
the same progress, line-level errors and report as the BI files.
"""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from analytics.models import ImportJob
from analytics.pipeline import formats
from analytics.pipeline.run import run_jobs
from analytics.services.imports import (
    delimiter_usable,
    import_jobs_enqueue,
    job_create,
    upload_problem,
)

from .contacts import DATASET, ON_DUPLICATE, register


def contact_import_start(*, workspace, upload, by=None, skip_invalid: bool = False,
                         on_duplicate: str = "skip", region: str = "", delimiter: str = "",
                         encoding: str = "", enqueue: bool = True) -> ImportJob:
    """A job for ``upload``, queued to run once this transaction commits.

    ``region``: the country (ISO code, e.g. PT) of numbers written without ``+``;
    ``on_duplicate``: what a line matching an existing contact (same number or email)
    does, ``skip`` (default) or ``update`` it; ``skip_invalid``: load the good lines
    when some are bad (by default a bad line means nothing is loaded).
    """
    register()
    region = (region or "").strip().upper()
    errors = {}
    if region and region not in phonenumbers.SUPPORTED_REGIONS:
        errors["region"] = [f"{region!r} is not a country code such as PT, BR or US."]
    if on_duplicate not in ON_DUPLICATE:
        errors["on_duplicate"] = [f"Choose one of: {', '.join(ON_DUPLICATE)}."]
    if delimiter and not delimiter_usable(delimiter):
        errors["delimiter"] = ["A delimiter is a tab or a punctuation mark such as , ; |"]
    if encoding:
        try:
            "".encode(encoding)
        except LookupError:
            errors["encoding"] = [f"Unknown encoding {encoding!r}."]
    if upload is None:
        errors["file"] = ["Upload a CSV file."]
    elif upload.size > settings.BI_IMPORT_MAX_BYTES:
        errors["file"] = [f"Files may be at most {settings.BI_IMPORT_MAX_BYTES} bytes."]
    elif problem := upload_problem(upload, encoding):
        errors["file"] = [problem.replace("a BI file", "a contacts file")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        job = job_create(workspace, DATASET, upload, by=by, skip_invalid=skip_invalid,
                         delimiter=delimiter, encoding=encoding)
        if job.status == ImportJob.Status.PENDING:
            formats.options_save(job, {"region": region, "on_duplicate": on_duplicate})
            if enqueue:
                transaction.on_commit(lambda: import_jobs_enqueue([job.pk]), robust=True)
    return job


def contact_import_run(job: ImportJob) -> ImportJob:
    """Run a pending job here and now (the command's ``--wait``, tests, benchmarks)."""
    register()
    run_jobs([job.pk])
    job.refresh_from_db()
    return job

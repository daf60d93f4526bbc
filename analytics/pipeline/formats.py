"""Import formats other than the BI datasets, run by the same job machinery.

An ``ImportJob`` is a file's trip through the pipeline: checksum (the same file is
loaded once), claim by one worker, heartbeat and reaper, progress, line-level
errors with a report, atomic load, the finished event.  None of that depends on
what the file holds.  A format registered here (crm's contacts) brings the rest:
its header rules (see ``reader.BiHeader``) and ``run(job_run)``, which reads the
file with ``reader.Source``, checks its lines, loads them and finishes the job
through ``run.JobRun`` (``progress``, ``fail_with``, ``write_report``, ``finish``).

A format is registered by name (the job's ``dataset``) when its app's ``imports``
module is imported; ``get`` imports every installed app's ``imports`` module once
(as the admin discovers ``admin`` modules), so a worker that never loaded the URLs
still knows every format before it runs a job.
"""

from __future__ import annotations

import json
from typing import Protocol

from django.core.files.base import ContentFile
from django.utils.module_loading import autodiscover_modules


class ImportFormat(Protocol):
    name: str  # ImportJob.dataset
    label: str

    def run(self, job_run) -> None: ...


_FORMATS: dict[str, ImportFormat] = {}
_discovered = False


def register(fmt: ImportFormat) -> None:
    _FORMATS[fmt.name] = fmt


def get(name: str) -> ImportFormat | None:
    global _discovered
    if not _discovered:
        _discovered = True
        autodiscover_modules("imports")
    return _FORMATS.get(name)


# A job's options beyond the model's fields (e.g. contacts: a default phone region,
# what to do with duplicates).  Kept on the job row when ImportJob has an ``options``
# field, else in a small JSON file beside the upload (same storage, same lifetime).

def _sidecar(job) -> str:
    return f"{job.file.name}.options.json"


def _has_field(job) -> bool:
    return any(f.name == "options" for f in job._meta.concrete_fields)


def options_save(job, options: dict) -> None:
    if _has_field(job):
        job.options = options
        job.save(update_fields=["options"])
        return
    job.file.storage.save(_sidecar(job), ContentFile(json.dumps(options).encode()))


def options_of(job) -> dict:
    if _has_field(job):
        return dict(job.options or {})
    storage = job.file.storage
    if not job.file.name or not storage.exists(_sidecar(job)):
        return {}
    with storage.open(_sidecar(job), "rb") as handle:
        return json.loads(handle.read() or b"{}")

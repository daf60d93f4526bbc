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

from typing import Protocol

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
# what to do with duplicates), kept on the job row.

def options_save(job, options: dict) -> None:
    job.options = options
    job.save(update_fields=["options"])


def options_of(job) -> dict:
    return dict(job.options or {})

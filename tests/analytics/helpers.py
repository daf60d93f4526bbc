"""Building BI files and running them through the real pipeline in tests."""

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from analytics.formats import DATASETS, PREDECESSOR_FILENAMES, header_line
from analytics.models import ImportJob
from analytics.pipeline.run import run_jobs
from analytics.services.imports import import_jobs_create

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bi"

SALE = ["2024-11-13", "7328", "L241137302", "PRG", "ZINCADO", "Bobina", "BZN", "32D1",
        "SALVADOR", "BA", "31.069", "4.2294", "BZN-4.75X1250"]
STOCK = ["2025-06-24", "52750", "1101", "Materia Prima", "E_PRG_REF", "BFF", "L250311265",
         "93", "Bobina", "Laminado a Frio", "26.302", "BFF-0.50X1200"]


def sale(**changes) -> list[str]:
    row = list(SALE)
    names = [c.name for c in DATASETS["sales"]]
    for name, value in changes.items():
        row[names.index(name)] = value
    return row


def stock(**changes) -> list[str]:
    row = list(STOCK)
    names = [c.name for c in DATASETS["inventory"]]
    for name, value in changes.items():
        row[names.index(name)] = value
    return row


def csv_file(dataset: str, rows: list[list[str]], *, header: str | None = None,
             delimiter: str = "|", encoding: str = "utf-8", name: str | None = None):
    lines = [header if header is not None else header_line(dataset).replace("|", delimiter)]
    lines += [delimiter.join(row) for row in rows]
    content = ("\n".join(lines) + "\n").encode(encoding)
    return SimpleUploadedFile(name or PREDECESSOR_FILENAMES[dataset], content)


def fixture_file(dataset: str):
    name = PREDECESSOR_FILENAMES[dataset]
    return SimpleUploadedFile(name, (FIXTURES / name).read_bytes())


def run_import(workspace, by=None, **options) -> list[ImportJob]:
    """Create jobs for ``uploads`` and run them here, as the worker would."""
    uploads = options.pop("uploads")
    jobs = import_jobs_create(workspace=workspace, uploads=uploads, by=by, enqueue=False,
                              **options)
    run_jobs([job.pk for job in jobs if job.status == ImportJob.Status.PENDING])
    for job in jobs:
        job.refresh_from_db()
    return jobs


def run_one(workspace, dataset: str, upload, **options) -> ImportJob:
    return run_import(workspace, uploads={dataset: upload}, **options)[0]


def report_rows(job: ImportJob) -> list[list[str]]:
    import csv
    import io

    with job.error_report.open("rb") as f:
        return list(csv.reader(io.StringIO(f.read().decode("utf-8"))))

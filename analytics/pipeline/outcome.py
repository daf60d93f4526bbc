"""How a job's outcome reads to a user, alike in the admin, the API and ``import_csv``."""

from __future__ import annotations

from ..models import ImportJob


def shown_progress(job: ImportJob) -> int | None:
    """The percent to draw: 100 once the job is done, None (no bar) once it failed.

    The stored ``progress`` stops where the work stopped (80 % when the file was
    read but its rows were refused); a bar at 80 % on a failed job reads as
    "still going", so the outcome, not the counter, decides what is shown.
    """
    if job.status == ImportJob.Status.FAILED:
        return None
    if job.is_finished:
        return 100
    return job.progress


def problem_text(line, column, value, reason) -> str:
    """One problem of the report as a sentence.

    ``line 3 zs_peso_liquido: '-2' is negative ...`` when there is a value to quote,
    ``line 4 cod_cliente is required`` when the field is empty, ``line 5 has 14
    fields; expected 13`` for the whole line.  Never ``None``: older jobs stored
    empty columns and values as null.
    """
    where = f"line {line}" + (f" {column}" if column else "")
    if value is None or value == "":
        return f"{where} {reason}"
    return f"{where}: {value!r} {reason}"


def problem_cells(error) -> tuple:
    """(line, column, value, reason) with empty text where older jobs stored null."""
    line, column, value, reason = (*error, "", "", "", "")[:4]
    return line, column or "", "" if value is None else value, reason or ""

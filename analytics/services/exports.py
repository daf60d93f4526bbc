"""Exports of events to CSV or Parquet, written by the Celery worker.

``export_create`` checks the request (format, filters, range) and queues the job after
the commit; ``export_run`` (the task's body) writes the file:

* rows are read in ``CHUNK_ROWS`` chunks with ``.iterator()`` (a server-side cursor on
  PostgreSQL), ordered by time; CSV goes through ``csv.writer`` and Parquet through
  pyarrow's ``ParquetWriter``, one row group per chunk, so memory stays bounded by one
  chunk whatever the export's size;
* columns: uuid, timestamp (UTC), name, distinct_id, session_id, source, properties (the
  JSON object as text);
* the file is written to a temporary file and stored in ``Export.file`` at the end;
* a finished export (succeeded or failed) is never redone: a redelivered message is a
  no-op; one still ``queued`` or ``running`` (its worker died) is run from the start;
* a failure is recorded (``status = failed``, a one-line ``error``); the traceback goes
  to the log, never to the user.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import tempfile
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from analytics.models import Event, Export
from analytics.queries.properties import apply_filters, validate_filters

logger = logging.getLogger(__name__)
CHUNK_ROWS = 50_000
COLUMNS = ("uuid", "timestamp", "name", "distinct_id", "session_id", "source", "properties")
PARQUET_SCHEMA = pa.schema([
    ("uuid", pa.string()), ("timestamp", pa.timestamp("us", tz="UTC")),
    ("name", pa.string()), ("distinct_id", pa.string()), ("session_id", pa.string()),
    ("source", pa.string()), ("properties", pa.string())])
FINISHED = (Export.Status.SUCCEEDED, Export.Status.FAILED)


def export_validate(export: Export) -> None:
    """``ValidationError`` per field unless the export can run."""
    errors: dict[str, list[str]] = {}
    try:
        export.full_clean(validate_unique=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        validate_filters(export.filters)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if export.date_from and export.date_to and export.date_from >= export.date_to:
        errors.setdefault("date_to", []).append("'date_to' must be after 'date_from'.")
    if errors:
        raise ValidationError(errors)


def export_create(*, workspace, by=None, format: str = Export.Format.CSV,
                  event_name: str = "", filters: list | None = None,
                  date_from: datetime | None = None, date_to: datetime | None = None) -> Export:
    """A queued export; its job starts once the transaction commits."""
    return export_queue(Export(workspace=workspace, requested_by=by, format=format,
                               event_name=event_name or "", filters=filters or [],
                               date_from=date_from, date_to=date_to))


def export_queue(export: Export) -> Export:
    """Save a new (unsaved) export after checking it; its job starts after the commit."""
    export_validate(export)
    export.status = Export.Status.QUEUED
    with transaction.atomic():
        export.save()
        transaction.on_commit(lambda: _queue(export.pk))
    return export


def _queue(export_id: int) -> None:
    from analytics.tasks_dashboards import run_export

    run_export.delay(export_id)


def export_events(export: Export):
    """The events an export writes, oldest first."""
    events = Event.objects.filter(workspace_id=export.workspace_id)
    if export.event_name:
        events = events.filter(name=export.event_name)
    if export.date_from:
        events = events.filter(timestamp__gte=export.date_from)
    if export.date_to:
        events = events.filter(timestamp__lt=export.date_to)
    return apply_filters(events, export.filters or []).order_by("timestamp", "id")


def _claim(export_id: int) -> Export | None:
    with transaction.atomic():
        export = Export.objects.select_for_update().filter(pk=export_id).first()
        if export is None or export.status in FINISHED:
            return None
        export.status = Export.Status.RUNNING
        export.started_at = timezone.now()
        export.error = ""
        export.save(update_fields=["status", "started_at", "error", "updated_at"])
        return export


def export_run(export_id: int) -> str | None:
    """Write the export's file (see the module); its final status, None when there was
    nothing to do (unknown id, or already finished)."""
    export = _claim(export_id)
    if export is None:
        return None
    try:
        with tempfile.TemporaryFile() as out:
            rows = export_events(export).values_list(*COLUMNS).iterator(chunk_size=CHUNK_ROWS)
            count = (_write_parquet if export.format == Export.Format.PARQUET
                     else _write_csv)(rows, out)
            out.seek(0)
            export.file.save(f"export-{export.pk}.{export.format}", File(out), save=False)
        export.row_count = count
        export.status = Export.Status.SUCCEEDED
    except Exception as exc:  # recorded for the user; the traceback goes to the log
        logger.exception("export %s failed", export_id)
        export.status = Export.Status.FAILED
        export.error = f"The export failed ({type(exc).__name__}); nothing was kept. " \
                       "Try again, or narrow the range."
    export.finished_at = timezone.now()
    export.save(update_fields=["status", "file", "row_count", "error", "finished_at",
                               "updated_at"])
    return export.status


def _chunks(rows):
    size, chunk = CHUNK_ROWS, []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _csv_row(row) -> list:
    uuid, timestamp, name, distinct_id, session_id, source, properties = row
    return [str(uuid), timestamp.isoformat(), name, distinct_id, session_id, source,
            json.dumps(properties, ensure_ascii=False, separators=(",", ":"))]


def _write_csv(rows, out) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    count = 0
    for chunk in _chunks(rows):
        writer.writerows(map(_csv_row, chunk))
        count += len(chunk)
    text.flush()
    text.detach()  # leave ``out`` open for storing
    return count


def _write_parquet(rows, out) -> int:
    count = 0
    with pq.ParquetWriter(out, PARQUET_SCHEMA) as writer:
        for chunk in _chunks(rows):
            uuids, times, names, people, sessions, sources, properties = zip(*chunk,
                                                                             strict=True)
            columns = ([str(u) for u in uuids], times, names, people, sessions, sources,
                       [json.dumps(p, ensure_ascii=False, separators=(",", ":"))
                        for p in properties])
            writer.write_table(pa.Table.from_arrays(
                [pa.array(values, type=field.type)
                 for values, field in zip(columns, PARQUET_SCHEMA, strict=True)],
                schema=PARQUET_SCHEMA))
            count += len(chunk)
        if not count:  # an empty export is still a readable file with the columns
            writer.write_table(PARQUET_SCHEMA.empty_table())
    return count


def export_delete(export: Export) -> None:
    """Delete an export and its file (the file after the row, once the deletion commits)."""
    name, storage = export.file.name, export.file.storage
    with transaction.atomic():
        export.delete()
        if name:
            transaction.on_commit(lambda: storage.delete(name))

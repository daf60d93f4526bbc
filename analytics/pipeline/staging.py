"""Staging tables: a file's records land here before anything touches the BI tables.

Each job gets two temporary tables on the worker's connection: ``stg_<job>``
(one row per record, with its line number) and ``err_<job>`` (one row per
problem).  Temporary tables vanish with the connection, so a worker that dies
mid-import leaves nothing behind.  ``PostgresStaging`` streams records through
``COPY FROM STDIN`` and validates with one set-based statement; ``PortableStaging``
(SQLite) validates in Python and inserts in batches.  Both then share the
set-based client derivation and load in ``pipeline.load``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

from django.db import connection

from ..formats import DATASETS
from . import rules
from .reader import ENCODING_ERROR, Source

CHUNK_RECORDS = 100_000  # records per COPY statement / progress update
BATCH = 5_000  # rows per executemany on SQLite
Progress = Callable[[], None]


class Staging:
    def __init__(self, job, tz: ZoneInfo):
        self.job, self.tz = job, tz
        self.columns = DATASETS[job.dataset]
        self.stg, self.err = f"stg_{job.pk}", f"err_{job.pk}"

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.stg}")
            cursor.execute(f"DROP TABLE IF EXISTS {self.err}")

    def _create(self, column_type: str) -> None:
        self.drop()
        cols = ", ".join(f"{c.name} {column_type}" for c in self.columns)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {self.stg} "
                           f"(line_no integer PRIMARY KEY, {cols})")
            cursor.execute(f"CREATE TEMPORARY TABLE {self.err} (line_no integer, "
                           "position integer, col text, val text, reason text)")

    def error_count(self) -> tuple[int, int]:
        """(problems, distinct bad lines)."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*), count(DISTINCT line_no) FROM {self.err}")
            return cursor.fetchone()

    def errors(self, limit: int | None = None) -> Iterator[tuple]:
        sql = f"SELECT line_no, col, val, reason FROM {self.err} ORDER BY line_no, position"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with connection.cursor() as cursor:
            cursor.execute(sql)
            while batch := cursor.fetchmany(BATCH):
                yield from batch

    def drop_invalid(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {self.stg} WHERE line_no IN "
                           f"(SELECT line_no FROM {self.err})")

    def row_count(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {self.stg}")
            return cursor.fetchone()[0]


class PostgresStaging(Staging):
    """Text columns filled by COPY; types are checked and cast in SQL."""

    def stage(self, source: Source, progress: Progress) -> int:
        self._create("text")
        # ``width`` carries each record's field count so one statement can
        # report wrong column counts beside the typed checks.
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {self.stg} ADD COLUMN width integer")
        d, width = source.delimiter, len(self.columns)
        names = ", ".join(c.name for c in source.columns)
        copy_sql = (f"COPY {self.stg} (line_no, width, {names}) FROM STDIN "
                    f"WITH (FORMAT csv, DELIMITER {rules._lit(d)})")
        blank = d * width
        total, records, done = 0, source.records(), False
        raw = connection.cursor().cursor  # psycopg's own cursor, for copy()
        while not done:
            buffer, count = [], 0
            for record in records:
                if record.field_count == width:
                    buffer.append(f"{record.line_no}{d}{width}{d}{record.text}\n")
                else:
                    buffer.append(f"{record.line_no}{d}{record.field_count}{blank}\n")
                count += 1
                if count == CHUNK_RECORDS:
                    break
            else:
                done = True
            if buffer:
                with raw.copy(copy_sql) as copy:
                    copy.write("".join(buffer))
                total += count
                progress()
        return total

    def validate(self) -> None:
        width = len(self.columns)
        values = ", ".join(
            f"({i}, {rules._lit(c.header)}, left({c.name}, 200), {rules.sql_reason(c, c.name)})"
            for i, c in enumerate(self.columns))
        encoding = rules._lit(f"is not valid {self.job.encoding or 'UTF-8'} text")
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {self.err} (line_no, position, col, val, reason) "
                f"SELECT s.line_no, e.position, e.col, e.val, e.reason FROM {self.stg} s "
                f"CROSS JOIN LATERAL (VALUES {values}) AS e(position, col, val, reason) "
                f"WHERE s.width = {width} AND e.reason IS NOT NULL "
                f"UNION ALL SELECT line_no, -1, NULL, NULL, CASE WHEN width = {ENCODING_ERROR} "
                f"THEN {encoding} ELSE 'has ' || width || ' columns; expected {width}' END "
                f"FROM {self.stg} WHERE width <> {width}")

    def select_values(self) -> dict[str, str]:
        """Typed SQL expressions per field, over the staging alias ``s``."""
        return {c.name: rules.sql_value(c, f"s.{c.name}") for c in self.columns}


class PortableStaging(Staging):
    """Typed columns filled in batches; each value is checked in Python on the way in."""

    def stage(self, source: Source, progress: Progress) -> int:
        self._create("")
        width, delimiter = len(self.columns), source.delimiter
        order = [c.name for c in source.columns]
        by_name = {c.name: c for c in self.columns}
        positions = {c.name: i for i, c in enumerate(self.columns)}
        names = ", ".join(order)
        insert_row = (f"INSERT INTO {self.stg} (line_no, {names}) VALUES "
                      f"({', '.join(['%s'] * (width + 1))})")
        insert_err = f"INSERT INTO {self.err} VALUES (%s, %s, %s, %s, %s)"
        rows, errors, total = [], [], 0
        encoding = f"is not valid {self.job.encoding or 'UTF-8'} text"
        for record in source.records():
            total += 1
            if record.field_count != width:
                reason = (encoding if record.field_count == ENCODING_ERROR
                          else f"has {record.field_count} columns; expected {width}")
                errors.append((record.line_no, -1, None, None, reason))
            else:
                values, bad = [record.line_no], False
                for name, raw in zip(order, record.fields(delimiter), strict=True):
                    value, reason = rules.parse(by_name[name], raw, self.tz)
                    if reason:
                        bad = True
                        errors.append((record.line_no, positions[name], by_name[name].header,
                                       (raw or "")[:200], reason))
                    values.append(value)
                if not bad:
                    rows.append(values)
            if len(rows) >= BATCH or len(errors) >= BATCH or total % CHUNK_RECORDS == 0:
                self._flush(insert_row, rows, insert_err, errors)
                progress()
        self._flush(insert_row, rows, insert_err, errors)
        return total

    @staticmethod
    def _flush(insert_row, rows, insert_err, errors) -> None:
        with connection.cursor() as cursor:
            if rows:
                cursor.executemany(insert_row, rows)
            if errors:
                cursor.executemany(insert_err, errors)
        rows.clear()
        errors.clear()

    def validate(self) -> None:
        """Nothing left to do: values were checked as they were staged."""

    def select_values(self) -> dict[str, str]:
        return {c.name: f"s.{c.name}" for c in self.columns}


def staging_for(job, tz: ZoneInfo) -> Staging:
    return (PostgresStaging if connection.vendor == "postgresql" else PortableStaging)(job, tz)

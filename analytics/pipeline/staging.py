"""Staging tables: a file's records land here before anything touches the BI tables.

Each job gets two temporary tables on the worker's connection: ``stg_<job>``
(one row per record, with its line number) and ``err_<job>`` (one row per
problem).  Temporary tables vanish with the connection, so a worker that dies
mid-import leaves nothing behind.

``PostgresStaging`` streams records through ``COPY FROM STDIN`` into text
columns; the load then checks and casts them in the same ``INSERT ... SELECT``
(``valid_sql``), and only when rows were left out does ``record_errors`` work
out why, so a clean file is read by the database once.  ``PortableStaging``
(SQLite) checks each value in Python on the way in and stages only good rows.
"""

from __future__ import annotations

import queue
import re
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import psycopg
from django.db import connection
from psycopg.copy import QueuedLibpqWriter

from ..formats import BLANKS, DATASETS
from . import rules
from .reader import ENCODING_ERROR, Source

MOMENT = "source_timestamp"  # derived from the date column: not a column of the file
CHUNK_RECORDS = 100_000  # records per progress update
WRITE_RECORDS = 1_000  # records per write into the COPY stream
BATCH = 5_000  # rows per executemany on SQLite
Progress = Callable[[], None]


class Staging:
    def __init__(self, job, tz: ZoneInfo):
        self.job, self.tz = job, tz
        self.columns = DATASETS[job.dataset]
        self.by_name = {c.name: c for c in self.columns}
        self.date_column = next(c for c in self.columns if c.kind == "date")
        self.stg, self.err = f"stg_{job.pk}", f"err_{job.pk}"
        self.client_codes: set[int] = set()  # well-formed codes seen while staging

    def cursor(self):
        return connection.cursor()

    def close(self) -> None:
        self.drop()

    def drop(self) -> None:
        with self.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.stg}")
            cursor.execute(f"DROP TABLE IF EXISTS {self.err}")

    def _create(self, column_type: str) -> None:
        self.drop()
        cols = ", ".join(f"{c.name} {column_type}" for c in self.columns)
        with self.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE {self.stg} (line_no integer, {cols})")
            cursor.execute(f"CREATE TEMPORARY TABLE {self.err} (line_no integer, "
                           "position integer, col text, val text, reason text)")

    def error_count(self) -> tuple[int, int]:
        """(problems, distinct bad lines)."""
        with self.cursor() as cursor:
            cursor.execute(f"SELECT count(*), count(DISTINCT line_no) FROM {self.err}")
            return cursor.fetchone()

    def errors(self, limit: int | None = None) -> Iterator[tuple]:
        sql = f"SELECT line_no, col, val, reason FROM {self.err} ORDER BY line_no, position"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self.cursor() as cursor:
            cursor.execute(sql)
            while batch := cursor.fetchmany(BATCH):
                yield from batch



def _tidy_test(delimiter: str) -> Callable[[str], str]:
    """``t`` when no field of an unquoted record starts or ends with a blank, else ``f``.

    Substring tests run in C; splitting each record into its fields would not.
    """
    edges = [b + delimiter for b in BLANKS if b != delimiter] + \
        [delimiter + b for b in BLANKS if b != delimiter]
    rare = [b for b in BLANKS if b not in (" ", delimiter)]

    def tidy(text: str) -> str:
        if text[:1] in BLANKS or text[-1:] in BLANKS:
            return "f"
        if not text.isascii() or any(b in text for b in rare):
            return "f" if any(e in text for e in edges) else "t"
        return "f" if (" " + delimiter in text or delimiter + " " in text) else "t"
    return tidy


class _QueuedWriter(QueuedLibpqWriter):
    """psycopg's queued COPY writer with a short queue: at most ~8 MB of the file waits
    for the server (its default, 1,024 blocks of 128 KB, could hold the whole file)."""

    def __init__(self, cursor):
        super().__init__(cursor)
        self._queue = queue.Queue(maxsize=64)


class PostgresStaging(Staging):
    """Text columns filled by COPY; types are checked and cast in SQL.

    Staging lives on a connection of its own, beside Django's: while that
    connection reads, checks and casts the staged rows (``COPY ... TO
    STDOUT``), Django's connection writes them into the BI table (``COPY ...
    FROM STDIN``) inside the load transaction, so two server processes share
    the work.  Closing the connection drops the temporary tables.
    """

    def __init__(self, job, tz: ZoneInfo):
        super().__init__(job, tz)
        connection.ensure_connection()
        self.conn = psycopg.connect(**connection.get_connection_params(), autocommit=True)
        self.conn.execute("SET enable_nestloop = off")  # see valid_rows
        # Every cast of a time names its zone or offset; a fixed session zone keeps any
        # that did not from depending on the server's configuration.
        self.conn.execute("SET TIME ZONE 'UTC'")
        # Disabled nested loops inflate plan costs past the JIT thresholds, and compiling
        # the checks' expressions took longer than running them (EXPLAIN ANALYZE, 200k rows).
        self.conn.execute("SET jit = off")

    def cursor(self):
        return self.conn.cursor()

    def close(self) -> None:
        self.conn.close()

    def stage(self, source: Source, progress: Progress) -> int:
        self._create("text")
        # ``width`` carries each record's field count so one statement can
        # report wrong column counts beside the typed checks; ``tidy`` says that no
        # field of the record starts or ends with a blank (``rules._trim``).
        with self.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {self.stg} ADD COLUMN width integer, "
                           "ADD COLUMN tidy boolean")
        d, width = source.delimiter, len(self.columns)
        names = ", ".join(c.name for c in source.columns)
        copy_sql = (f"COPY {self.stg} (line_no, width, tidy, {names}) FROM STDIN "
                    f"WITH (FORMAT csv, DELIMITER {rules._lit(d)})")
        blank = d * width
        tidy = _tidy_test(d)
        code_at = [c.name for c in source.columns].index("client_code")
        codes: set[str] = set()
        total, buffer = 0, []
        raw = self.conn.cursor()
        # One COPY for the whole file, fed through a queue: a thread of psycopg's sends
        # while this one reads and formats the next lines, so the server parses the file
        # as Python reads it instead of taking turns with it.
        with raw.copy(copy_sql, writer=_QueuedWriter(raw)) as copy:
            for record in source.records():
                text = record.text
                if record.field_count != width:
                    buffer.append(f"{record.line_no}{d}{record.field_count}{d}f{blank}\n")
                elif '"' in text:
                    # COPY's CSV reading opens a quote anywhere in a field, Python's
                    # only at its start (``Tubo 2"``): quoted records go as Python read them.
                    fields = record.fields(d)
                    text = d.join('"' + f.replace('"', '""') + '"' for f in fields)
                    buffer.append(f"{record.line_no}{d}{width}{d}f{d}{text}\n")
                    codes.add(fields[code_at])
                else:
                    buffer.append(f"{record.line_no}{d}{width}{d}{tidy(text)}{d}{text}\n")
                    codes.add(text.split(d, code_at + 1)[code_at])
                total += 1
                if total % WRITE_RECORDS == 0:
                    copy.write("".join(buffer))
                    buffer.clear()
                    if total % CHUNK_RECORDS == 0:
                        progress()
            if buffer:
                copy.write("".join(buffer))
        progress()
        with self.cursor() as cursor:  # temporary tables get no autovacuum statistics
            cursor.execute(f"ANALYZE {self.stg}")
        pattern = re.compile(rules.INT_PATTERN)
        # Each spelling of a well-formed code as staged (``0073``, `` 73``), for the load.
        self.code_spellings = {raw: int(raw.strip(BLANKS)) for raw in codes
                               if pattern.match(raw.strip(BLANKS))}
        self.client_codes = set(self.code_spellings.values())
        return total

    def valid_sql(self, alias: str = "s") -> str:
        return f"{alias}.width = {len(self.columns)} AND {rules.sql_valid(self.columns, alias)}"

    def record_errors(self) -> None:
        """Why each row the load left out is bad; run only when some were."""
        width = len(self.columns)
        values = ", ".join(
            f"({i}, {rules._lit(c.header)}, coalesce(left(s.{c.name}, 200), ''), "
            f"{rules.sql_reason(c, f's.{c.name}')})" for i, c in enumerate(self.columns))
        encoding = rules._lit(f"is not valid {self.job.encoding or 'UTF-8'} text")
        with self.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {self.err} (line_no, position, col, val, reason) "
                f"SELECT s.line_no, e.position, e.col, e.val, e.reason FROM {self.stg} s "
                f"CROSS JOIN LATERAL (VALUES {values}) AS e(position, col, val, reason) "
                f"WHERE s.width = {width} AND ({self.valid_sql()}) IS NOT TRUE "
                f"AND e.reason IS NOT NULL "
                f"UNION ALL SELECT line_no, -1, '', '', CASE WHEN width = {ENCODING_ERROR} "
                f"THEN {encoding} ELSE 'has ' || width || ' fields; expected {width}' END "
                f"FROM {self.stg} WHERE width <> {width}")

    def select_values(self, tidy: bool = False) -> dict[str, str]:
        """Typed SQL expressions per field, over the staging alias ``s``."""
        values = {c.name: rules.sql_value(c, f"s.{c.name}", tidy) for c in self.columns}
        values[MOMENT] = rules.sql_moment(f"s.{self.date_column.name}", tidy)
        return values

    def valid_rows(self, fields: list[str], clients: list[tuple[int, int]],
                   tz_name: str) -> Iterator[bytes]:
        """Valid rows as binary COPY data: workspace, job and client ids, then ``fields``.

        ``clients`` maps code to id as the load transaction sees them (new
        clients are not committed yet, so this connection cannot look them up).
        Rows join them by the code's spelling as staged, so a row whose code is
        not well-formed finds no client and is left out without a check of its
        own.  Tidy rows (nearly all) skip trimming, the rest take the full
        rules.  The filter hides how many rows pass, so the planner would pick
        a nested loop over the clients; this connection has nested loops off.
        """
        ids = dict(clients)
        cmap = f"cmap_{self.job.pk}"
        checked = [c for c in self.columns if c.name != "client_code"]
        with self.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {cmap}")
            cursor.execute(f"CREATE TEMPORARY TABLE {cmap} (spelling text PRIMARY KEY, id bigint)")
            with cursor.copy(f"COPY {cmap} (spelling, id) FROM STDIN") as copy:
                for spelling, code in self.code_spellings.items():
                    if code in ids:
                        copy.write_row((spelling, ids[code]))
            cursor.execute(f"ANALYZE {cmap}")
            selects = []
            for tidy in (True, False):
                values = self.select_values(tidy)
                selects.append(
                    f"SELECT {int(self.job.workspace_id)}::bigint, "
                    f"{int(self.job.pk)}::bigint, m.id, "
                    f"{', '.join(values[f] for f in fields)} "
                    f"FROM {self.stg} s JOIN {cmap} m ON m.spelling = s.client_code "
                    f"WHERE {'' if tidy else 'NOT '}s.tidy AND s.width = {len(self.columns)} "
                    f"AND {rules.sql_valid(checked, 's', tidy)}")
            select = " UNION ALL ".join(selects).replace("%(tz)s", rules._lit(tz_name))
            # Binary: neither server formats or parses numbers, dates and instants as
            # text; the column types match the table's exactly (ids bigint, numeric(p, s)).
            with cursor.copy(f"COPY ({select}) TO STDOUT (FORMAT binary)") as copy:
                yield from copy


class PortableStaging(Staging):
    """Typed columns filled in batches; each value is checked in Python on the way in."""

    def stage(self, source: Source, progress: Progress) -> int:
        self._create("")
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {self.stg} ADD COLUMN {MOMENT}")
        width, delimiter = len(self.columns), source.delimiter
        order = [c.name for c in source.columns]
        by_name = self.by_name
        positions = {c.name: i for i, c in enumerate(self.columns)}
        names = ", ".join(order)
        date_at = order.index(self.date_column.name)
        adapt = connection.ops.adapt_datetimefield_value  # stored as Django stores it
        insert_row = (f"INSERT INTO {self.stg} (line_no, {names}, {MOMENT}) VALUES "
                      f"({', '.join(['%s'] * (width + 2))})")
        insert_err = f"INSERT INTO {self.err} VALUES (%s, %s, %s, %s, %s)"
        rows, errors, total = [], [], 0
        encoding = f"is not valid {self.job.encoding or 'UTF-8'} text"
        for record in source.records():
            total += 1
            if record.field_count != width:
                reason = (encoding if record.field_count == ENCODING_ERROR
                          else f"has {record.field_count} fields; expected {width}")
                errors.append((record.line_no, -1, "", "", reason))
            else:
                values, bad = [record.line_no], False
                fields = record.fields(delimiter)
                for name, raw in zip(order, fields, strict=True):
                    value, reason = rules.parse(by_name[name], raw, self.tz)
                    if reason:
                        bad = True
                        errors.append((record.line_no, positions[name], by_name[name].header,
                                       (raw or "")[:200], reason))
                    values.append(value)
                if not bad:
                    values.append(adapt(rules.source_moment(fields[date_at], self.tz)))
                    rows.append(values)
                    self.client_codes.add(values[1 + order.index("client_code")])
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

    def valid_sql(self, alias: str = "s") -> str:
        return "1 = 1"  # only valid rows were staged

    def record_errors(self) -> None:
        """Nothing left to do: errors were recorded as the rows were staged."""

    def select_values(self) -> dict[str, str]:
        return {name: f"s.{name}" for name in [*self.by_name, MOMENT]}


def staging_for(job, tz: ZoneInfo) -> Staging:
    return (PostgresStaging if connection.vendor == "postgresql" else PortableStaging)(job, tz)

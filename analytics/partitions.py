"""Monthly partitions of the product events table, and their retention.

On PostgreSQL ``analytics_event`` is a table ``PARTITION BY RANGE ("timestamp")`` (the
conversion is migration 0006, through ``partition_table``): one partition per UTC month,
named ``analytics_event_pYYYYMM``, and a DEFAULT partition that takes any row no month
partition covers, so an insert never fails for want of a partition.  The primary key
is ``(id, timestamp)`` in the database (PostgreSQL requires the partition key in every
unique index); the model keeps ``id`` as its primary key, and ids stay unique because
they all come from the one identity sequence.

* ``ensure_partitions(months_ahead=3)`` creates the current month's partition and the
  next ones (beat, daily).  A month whose rows already sit in the DEFAULT partition
  (events sent with an unusual timestamp before its partition existed) gets them moved
  into the new partition in the same transaction.
* ``prune_events(older_than_days)`` (beat, daily; the number of days is the live
  setting ``analytics.event_retention_days``) drops every month partition entirely
  older than the cutoff, which costs nothing per row, and deletes the older rows of the
  month the cutoff falls in and of the DEFAULT partition.  Elsewhere (SQLite) it
  deletes by age.

Retention also bounds idempotency: an event's uuid is recognised as a duplicate while
the event is kept (``analytics.services.capture``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import connection as default_connection
from django.db import transaction
from django.utils import timezone

from core import live_settings

from .models import Event

PARENT = Event._meta.db_table
DEFAULT_PARTITION = f"{PARENT}_default"
MONTH_NAME = re.compile(rf"^{PARENT}_p(\d{{4}})(\d{{2}})$")
PARTITION_KEY = Event._meta.get_field("timestamp").column
MONTHS_AHEAD = 3  # partitions kept created ahead of the current month (beat, daily)

RETENTION_DAYS = live_settings.declare(
    "analytics.event_retention_days", type=int, default=395, min_value=30,
    max_value=3660, label="Product events: days kept",
    help_text="Product analytics events older than this are deleted daily (on "
              "PostgreSQL whole months at a time, the month of the cutoff row by row). "
              "An event's uuid is recognised as a duplicate only while it is kept.")


@dataclass(frozen=True)
class Partition:
    name: str
    start: datetime | None  # None: the DEFAULT partition (everything else)
    end: datetime | None
    rows_estimate: int | None  # the planner's estimate; None before the first ANALYZE

    @property
    def is_default(self) -> bool:
        return self.start is None


def month_start(moment: datetime | date) -> datetime:
    """The UTC month holding ``moment`` (a naive datetime or a date is taken as UTC)."""
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def partition_name(start: datetime) -> str:
    return f"{PARENT}_p{start:%Y%m}"


def is_partitioned(connection=None) -> bool:
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [PARENT])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def partitions(connection=None) -> list[Partition]:
    """The partitions, oldest month first and DEFAULT last ([] when not partitioned)."""
    connection = connection or default_connection
    if not is_partitioned(connection):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples::bigint FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [PARENT])
        rows = cursor.fetchall()
    found = []
    for name, estimate in rows:
        match = MONTH_NAME.match(name)
        start = datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC) if match else None
        found.append(Partition(name, start, next_month(start) if start else None,
                               None if estimate < 0 else estimate))
    return sorted(found, key=lambda p: (p.start is None, p.start or datetime.min, p.name))


# --- creating ahead ------------------------------------------------------------------


def ensure_partitions(months_ahead: int = MONTHS_AHEAD, *, now: datetime | None = None,
                      connection=None) -> list[str]:
    """Create the month partitions from the current month to ``months_ahead`` months
    ahead that do not exist yet; the names created (PostgreSQL only, else [])."""
    connection = connection or default_connection
    if not is_partitioned(connection):
        return []
    start = month_start(now or timezone.now())
    created = []
    for _ in range(months_ahead + 1):
        if _create_month(connection, start):
            created.append(partition_name(start))
        start = next_month(start)
    return created


def _create_month(connection, start: datetime) -> bool:
    """One month's partition; rows of that month waiting in DEFAULT move into it."""
    name, end = partition_name(start), next_month(start)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cursor.fetchone()[0]:
            return False
        # Rows for this month inserted into DEFAULT between the move and the attach
        # would make the attach fail: hold DEFAULT (inserts elsewhere go on) meanwhile.
        cursor.execute(f'LOCK TABLE "{DEFAULT_PARTITION}" IN SHARE ROW EXCLUSIVE MODE')
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])  # made while we waited
        if cursor.fetchone()[0]:
            return False
        cursor.execute(f'CREATE TABLE "{name}" (LIKE "{PARENT}" INCLUDING DEFAULTS)')
        cursor.execute(
            f'WITH moved AS (DELETE FROM "{DEFAULT_PARTITION}" WHERE "{PARTITION_KEY}" >= %s '
            f'AND "{PARTITION_KEY}" < %s RETURNING *) INSERT INTO "{name}" SELECT * FROM moved',
            [start, end])
        cursor.execute(f'ALTER TABLE "{PARENT}" ATTACH PARTITION "{name}" '
                       "FOR VALUES FROM (%s) TO (%s)", [start, end])
    return True


# --- retention -----------------------------------------------------------------------


def retention_days() -> int:
    return live_settings.get(RETENTION_DAYS.key)


def prune_events(older_than_days: int | None = None, *, now: datetime | None = None,
                 connection=None) -> dict:
    """Delete events whose timestamp is more than ``older_than_days`` (default: the live
    setting) days old: ``{"cutoff", "dropped": [partition names], "deleted": rows}``."""
    connection = connection or default_connection
    days = retention_days() if older_than_days is None else older_than_days
    if days < 1:
        raise ValueError("older_than_days must be at least 1")
    cutoff = (now or timezone.now()) - timedelta(days=days)
    dropped = []
    with transaction.atomic(using=connection.alias):
        _check_deferred_now(connection)
        for partition in partitions(connection):
            if partition.end is not None and partition.end <= cutoff:
                with connection.cursor() as cursor:
                    cursor.execute(f'DROP TABLE "{partition.name}"')
                dropped.append(partition.name)
        # The cutoff's own month and DEFAULT (PostgreSQL prunes to those partitions),
        # or the whole table elsewhere.
        deleted, _ = Event.objects.using(connection.alias).filter(
            timestamp__lt=cutoff).delete()
    return {"cutoff": cutoff, "dropped": dropped, "deleted": deleted}


def _check_deferred_now(connection) -> None:
    """Run the deferred foreign-key checks of rows this transaction wrote: PostgreSQL
    refuses to drop a table with checks pending (events written earlier in the same
    transaction, as in a test)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


# --- converting the table (migration 0006) ---------------------------------------------


def partition_table(connection, *, months_ahead: int = MONTHS_AHEAD) -> None:
    """Rebuild the plain table as a partitioned one, rows, indexes and keys kept, with
    month partitions for every month holding rows and the months ahead."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT DISTINCT date_trunc(\'month\', "{PARTITION_KEY}" '
                       f'AT TIME ZONE \'UTC\') FROM "{PARENT}"')
        months = {month_start(row[0]) for row in cursor.fetchall()}
    start = month_start(timezone.now())
    for _ in range(months_ahead + 1):
        months.add(start)
        start = next_month(start)
    _rebuild(connection, months=sorted(months))


def unpartition_table(connection) -> None:
    """Rebuild the partitioned table as the plain table migration 0005 made."""
    _rebuild(connection, months=None)


def _rebuild(connection, *, months: list[datetime] | None) -> None:
    """Copy ``analytics_event`` into a new table (partitioned by month when ``months``
    is a list), then put the new table in its place with the old one's primary key
    name, indexes, constraints and sequence name, read from the catalogue."""
    new = f"{PARENT}_rebuild"
    _check_deferred_now(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = to_regclass(%s) AND NOT i.indisprimary", [PARENT])
        indexes = [row[0].replace(" ON ONLY ", " ON ") for row in cursor.fetchall()]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(%s) AND contype IN ('f', 'c')", [PARENT])
        constraints = cursor.fetchall()
        cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s) "
                       "AND contype = 'p'", [PARENT])
        primary_key = cursor.fetchone()[0]

        partitioning = f' PARTITION BY RANGE ("{PARTITION_KEY}")' if months is not None else ""
        cursor.execute(f'CREATE TABLE "{new}" (LIKE "{PARENT}" INCLUDING DEFAULTS '
                       f"INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS){partitioning}")
        for start in months or ():
            cursor.execute(f'CREATE TABLE "{partition_name(start)}" PARTITION OF "{new}" '
                           "FOR VALUES FROM (%s) TO (%s)", [start, next_month(start)])
        if months is not None:
            cursor.execute(f'CREATE TABLE "{DEFAULT_PARTITION}" PARTITION OF "{new}" DEFAULT')
        cursor.execute(f'INSERT INTO "{new}" SELECT * FROM "{PARENT}"')
        cursor.execute(f'DROP TABLE "{PARENT}"')  # with its partitions, if any
        cursor.execute(f'ALTER TABLE "{new}" RENAME TO "{PARENT}"')
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [PARENT])
        sequence = cursor.fetchone()[0]
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO \"{PARENT}_id_seq\"")
        cursor.execute(f'SELECT setval(\'"{PARENT}_id_seq"\', coalesce(max(id), 0) + 1, false) '
                       f'FROM "{PARENT}"')
        key = "id" if months is None else f'id, "{PARTITION_KEY}"'
        cursor.execute(f'ALTER TABLE "{PARENT}" ADD CONSTRAINT "{primary_key}" '
                       f"PRIMARY KEY ({key})")
        for definition in indexes:
            cursor.execute(definition)
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE "{PARENT}" ADD CONSTRAINT "{name}" {definition}')

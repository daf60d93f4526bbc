"""Capture of product events: one event or a batch, all or nothing, each event once.

An event is ``{"event": name, "uuid", "distinct_id", "timestamp", "properties",
"session_id"}``; only ``event`` is required:

* ``uuid``: the client's id of the event (its idempotency key); generated when absent,
  and then a retry of the request stores the event again;
* ``distinct_id``: who did it; defaults to the signed-in user's id (as text), else "";
* ``timestamp``: ISO 8601 with a UTC offset; defaults to the server's time.  A time
  more than ``MAX_FUTURE`` (a day) ahead of the server's is refused, not clamped: a
  clock that wrong makes every other time it sends doubtful too, and silently
  rewriting it would hide that from the sender;
* ``properties``: a JSON object of at most ``max_properties_bytes()`` bytes;
  ``session_id``: any text.

The server sets ``received_at``.  Events are checked first, in plain Python (a DRF
serializer per event costs more than storing it): one bad event rejects the whole batch
with every problem named by position and field (``{"events[3].timestamp": [...]}``) and
nothing is stored.

Idempotency: an event whose ``uuid`` is already stored in the workspace, or repeated
within the batch (the first one is kept), is counted as a duplicate and not stored
again, across batches and under concurrent identical batches, for as long as the event
is kept (retention: ``analytics.partitions``).  The table is partitioned by month of
``timestamp`` on PostgreSQL, so no unique constraint on ``(workspace, uuid)`` can exist:
the batch is COPYed into a temporary staging table, then one ``INSERT ... SELECT ...
WHERE NOT EXISTS`` writes the new events while a transaction-scoped advisory lock on
the workspace serialises captures of that workspace (two batches carrying the same
uuid cannot both find it absent).  Elsewhere (SQLite) the same is done in Python with
``bulk_create``; SQLite serialises writers, but two concurrent batches could both read
before writing, so the guarantee under concurrency is PostgreSQL's.

Limits (Django settings): ``ANALYTICS_CAPTURE_MAX_BATCH`` (1,000 events),
``ANALYTICS_EVENT_MAX_PROPERTIES_BYTES`` (16 KB of JSON per event) and
``ANALYTICS_CAPTURE_ASYNC_COMMIT`` (off; see ``async_commit``).
"""

from __future__ import annotations

import re
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core import tenancy
from core.api.errors import ApiError
from core.api.parsers import nesting_depth

from ..models import Event

MAX_FUTURE = timedelta(days=1)
MAX_TEXT = 200  # name, distinct_id, session_id: the columns' length
MAX_PROPERTIES_DEPTH = 32  # the API bounds whole bodies at 64 levels
FIELDS = frozenset({"event", "uuid", "distinct_id", "timestamp", "properties",
                    "session_id"})
LOCK_NAMESPACE = 731_020  # advisory-lock namespace: captures of one workspace
STAGE = "analytics_event_stage"


def max_batch() -> int:
    return getattr(settings, "ANALYTICS_CAPTURE_MAX_BATCH", 1000)


def max_properties_bytes() -> int:
    return getattr(settings, "ANALYTICS_EVENT_MAX_PROPERTIES_BYTES", 16_384)


def async_commit() -> bool:
    """PostgreSQL commits captures without waiting for the WAL flush when on: about a
    third of a batch's time on a busy disk, at the price that a crash of the database
    server (not of the web process) may lose the last ~0.6 s of acknowledged events,
    never corrupt or half-write them."""
    return getattr(settings, "ANALYTICS_CAPTURE_ASYNC_COMMIT", False)


@dataclass(frozen=True)
class CaptureResult:
    received: int  # events sent
    stored: int  # new events written
    duplicates: int  # already stored, or repeated in the batch

    def as_dict(self) -> dict:
        return {"received": self.received, "stored": self.stored,
                "duplicates": self.duplicates}


@dataclass(frozen=True)
class _Row:
    uuid: str  # canonical text
    name: str
    distinct_id: str
    session_id: str
    properties: str  # JSON text, written as is
    timestamp: datetime


def capture_batch(*, workspace, events, user=None, api_key=None,
                  source: str = Event.Source.API, field: str = "events") -> CaptureResult:
    """Store a batch of events in ``workspace``; see the module docstring.

    ``user``/``api_key`` is the caller (the API passes them; neither: trusted internal
    code).  Raises ``ApiError`` 403 when the caller may not add events to the workspace,
    400 ``invalid`` naming ``<field>[i].<name>`` for bad events (nothing stored).
    """
    _require_add(workspace, user, api_key)
    limit = max_batch()
    if not isinstance(events, list) or not 0 < len(events) <= limit:
        message = f"A list of 1 to {limit} events is expected."
        raise ApiError(400, "invalid", message, errors={field: [message]})
    return _capture(workspace, events, user, source,
                    lambda index, name: f"{field}[{index}].{name}" if name
                    else f"{field}[{index}]")


def capture_one(*, workspace, event, user=None, api_key=None,
                source: str = Event.Source.API) -> CaptureResult:
    """Store one event; errors name its fields (``{"timestamp": [...]}``)."""
    _require_add(workspace, user, api_key)
    return _capture(workspace, [event], user, source,
                    lambda index, name: name or "non_field_errors")


def _capture(workspace, events: list, user, source: str, key) -> CaptureResult:
    now = timezone.now()
    ctx = _Context(now=now, latest=now + MAX_FUTURE,
                   default_person=str(user.pk) if user is not None and user.pk else "",
                   properties_limit=max_properties_bytes())
    rows: dict[str, _Row] = {}
    problems: dict[str, list[str]] = {}
    for index, raw in enumerate(events):
        found = _check(raw, ctx)
        if isinstance(found, dict):
            problems.update({key(index, name): why for name, why in found.items()})
        elif not problems:
            rows.setdefault(found.uuid, found)  # the first of a repeated uuid is kept
    if problems:
        first = next(iter(problems))
        raise ApiError(400, "invalid", f"{first}: {problems[first][0]} Nothing was stored"
                       f" ({len(problems)} problem(s) in all).", errors=problems)
    stored = _store(workspace.pk, list(rows.values()), now, source)
    return CaptureResult(len(events), stored, len(events) - stored)


def _require_add(workspace, user, api_key) -> None:
    if user is None and api_key is None:
        return
    principal = tenancy.Principal(user=user, api_key=api_key)
    if not tenancy.can_in_workspace(principal, workspace, Event, "add"):
        raise ApiError(403, "permission_denied", "Your role in this workspace cannot send "
                                                 "events.")


# --- checking one event ----------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What every event of one batch is checked against (read once per batch)."""

    now: datetime
    latest: datetime  # the furthest timestamp accepted
    default_person: str
    properties_limit: int


def _check(raw, ctx: _Context) -> _Row | dict[str, list[str]]:
    """The event as a row, or its problems by field ("" for the event as a whole).
    Runs for every event of every batch: plain checks, no serializer."""
    if not isinstance(raw, dict):
        return {"": ["An event must be a JSON object."]}
    problems: dict[str, list[str]] = {}
    if not raw.keys() <= FIELDS:
        for name in sorted(raw.keys() - FIELDS):
            problems[name] = ["Unknown field."]

    name = raw.get("event")
    if name is None:
        problems["event"] = ["This field is required."]
    elif not _text_ok(name) or not name.strip():
        problems["event"] = [f"The event's name: text of 1 to {MAX_TEXT} characters."]

    event_id = raw.get("uuid")
    event_id = str(uuidlib.uuid4()) if event_id is None else _uuid(event_id)
    if event_id is None:
        problems["uuid"] = ["A UUID is expected, e.g. 0190d6c2-5f3e-7c3a-9d1e-2b4f6a8c0e12."]

    person = raw.get("distinct_id")
    if person is None:
        person = ctx.default_person
    elif type(person) is int:
        person = str(person)  # ids sent as numbers
    if not _text_ok(person):
        problems["distinct_id"] = [f"Text of at most {MAX_TEXT} characters is expected."]

    session = raw.get("session_id") or ""
    if not _text_ok(session):
        problems["session_id"] = [f"Text of at most {MAX_TEXT} characters is expected."]

    moment = raw.get("timestamp")
    if moment is None:
        moment = ctx.now
    else:
        moment = _aware(moment)
        if moment is None:
            problems["timestamp"] = ["An ISO 8601 date and time with a UTC offset is "
                                     "expected, e.g. 2026-03-01T12:00:00Z."]
        elif moment > ctx.latest:
            problems["timestamp"] = ["More than a day ahead of the server's clock "
                                     f"({ctx.now:%Y-%m-%dT%H:%M:%SZ}): send the device's "
                                     "time only if its clock is right, or leave it out."]

    properties = _properties(raw.get("properties"), ctx.properties_limit, problems)
    if problems:
        return problems
    return _Row(event_id, name, person, session, properties, moment)


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid(value) -> str | None:
    """The UUID in its canonical text (lower-case, hyphenated), or None.  Canonical
    input, what clients send, skips ``uuid.UUID`` (a tenth of the cost)."""
    if not isinstance(value, str):
        return None
    if len(value) == 36 and _CANONICAL_UUID.fullmatch(value):
        return value
    try:
        return str(uuidlib.UUID(value))
    except ValueError:
        return None


def _text_ok(value) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT and "\x00" not in value


def _properties(value, limit: int, problems: dict) -> str:
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        problems["properties"] = ["A JSON object is expected."]
        return ""
    try:
        text = orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        problems["properties"] = ["Not representable as JSON."]
        return ""
    if len(text) > limit or "\\u0000" in text:
        problems["properties"] = [f"At most {limit} bytes of JSON without NUL characters."]
    elif text.count("{") + text.count("[") > MAX_PROPERTIES_DEPTH and \
            nesting_depth(text.encode(), MAX_PROPERTIES_DEPTH) > MAX_PROPERTIES_DEPTH:
        problems["properties"] = [f"Nested more than {MAX_PROPERTIES_DEPTH} levels deep."]
    return text


def _aware(value) -> datetime | None:
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    if not 1970 <= parsed.year <= 9998:
        return None
    return parsed


# --- storing ---------------------------------------------------------------------------


def _store(workspace_id: int, rows: list[_Row], now: datetime, source: str) -> int:
    """Write the rows whose uuid the workspace does not hold yet; how many were new."""
    if connection.vendor == "postgresql":
        return _store_postgresql(workspace_id, rows, now, source)
    return _store_portable(workspace_id, rows, now, source)


_COLUMNS = ("uuid", "name", "distinct_id", "session_id", "properties", "timestamp")


def _store_postgresql(workspace_id, rows, now, source) -> int:
    table = Event._meta.db_table
    columns = ", ".join(f'"{c}"' for c in _COLUMNS)
    selected = ", ".join(f's."{c}"' for c in _COLUMNS)
    lock_key = int(workspace_id) & 0x7FFFFFFF  # an int, so it may be written inline
    # Only ever lowered: the server's own setting may be stronger than "on" (replicas).
    commit = "SET LOCAL synchronous_commit TO off; " if async_commit() else ""
    with transaction.atomic(), connection.cursor() as cursor:
        # One round trip (no parameters, so several statements may go at once):
        # * the staging table is the session's own, emptied at each commit: created once
        #   per connection (IF NOT EXISTS, its notice silenced), no catalogue churn per
        #   batch; the DELETE empties it when the caller's transaction has not committed
        #   since an earlier batch (capture inside a larger transaction, tests);
        # * the workspace's lock, held to the commit: a concurrent batch of this
        #   workspace waits here, and its INSERT, whose snapshot is taken after the
        #   wait, sees what this one wrote.
        cursor.execute(
            f"{commit}SET LOCAL client_min_messages TO warning; "
            f'CREATE TEMP TABLE IF NOT EXISTS "{STAGE}" (uuid uuid, name text, '
            "distinct_id text, session_id text, properties jsonb, "
            f'"timestamp" timestamptz) ON COMMIT DELETE ROWS; DELETE FROM "{STAGE}"; '
            f"SELECT pg_advisory_xact_lock({LOCK_NAMESPACE}, {lock_key})")
        with cursor.copy(f'COPY "{STAGE}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row((row.uuid, row.name, row.distinct_id, row.session_id,
                                row.properties, row.timestamp))
        # OFFSET 0 keeps the check a probe of each partition's (workspace, uuid) index
        # per staged row: as a join, a planner misled by the staging table's missing
        # statistics hashes every event of the workspace instead.
        cursor.execute(
            f'INSERT INTO "{table}" ("workspace_id", {columns}, "received_at", "source") '
            f'SELECT %s, {selected}, %s, %s FROM "{STAGE}" s WHERE NOT EXISTS '
            f'(SELECT 1 FROM "{table}" e WHERE e."workspace_id" = %s '
            'AND e."uuid" = s."uuid" OFFSET 0)',
            [workspace_id, now, source, workspace_id])
        return cursor.rowcount


def _store_portable(workspace_id, rows, now, source) -> int:
    ids = [row.uuid for row in rows]
    with transaction.atomic():
        seen = set()
        for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            seen.update(str(u) for u in Event.objects.filter(
                workspace_id=workspace_id, uuid__in=ids[start:start + 500])
                .values_list("uuid", flat=True))
        new = [Event(workspace_id=workspace_id, uuid=row.uuid, name=row.name,
                     distinct_id=row.distinct_id, session_id=row.session_id,
                     properties=orjson.loads(row.properties), timestamp=row.timestamp,
                     received_at=now, source=source)
               for row in rows if row.uuid not in seen]
        Event.objects.bulk_create(new, batch_size=500)
    return len(new)

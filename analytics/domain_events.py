"""Every domain event (core.events) is also a product event: what the system did sits
beside what people did, on the same dashboards.

``connect()`` (from ``AnalyticsConfig.ready()``) subscribes ``store``, which writes one
``analytics.Event`` per domain event: ``source="domain"``, the event's name, its
``occurred_at`` as the timestamp, its payload as the properties, an empty distinct_id,
and the domain event's id as the uuid (so a repeated dispatch stores it once).

One INSERT per event, in the emitter's process after its transaction commits; a
failure (a workspace deleted meanwhile) is logged by ``core.events.dispatch`` and
leaves the emitter and other handlers alone.
"""

from __future__ import annotations

import uuid

from django.db import connection, transaction
from django.utils import timezone

from core import events

from .models import Event


def connect() -> None:
    events.subscribe(store)


def store(event: events.Event) -> None:
    meta = Event._meta
    row = {"workspace_id": event.workspace_id, "uuid": uuid.UUID(event.id),
           "name": event.name[:200], "distinct_id": "", "session_id": "",
           "properties": event.payload or {}, "timestamp": event.occurred_at,
           "received_at": timezone.now(), "source": Event.Source.DOMAIN}
    fields = [meta.get_field("workspace" if c == "workspace_id" else c) for c in row]
    values = [f.get_db_prep_save(v, connection) for f, v in zip(fields, row.values(),
                                                                 strict=True)]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # A savepoint: a failed insert must not break a transaction the caller is still in.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{meta.db_table}" ({columns}) SELECT {placeholders} WHERE NOT '
            f'EXISTS (SELECT 1 FROM "{meta.db_table}" WHERE "workspace_id" = %s AND '
            '"uuid" = %s)', [*values, values[0], values[1]])

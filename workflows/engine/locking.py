"""Row locks for the engine, in one place: PostgreSQL's FOR UPDATE (SKIP LOCKED), and
the portable fallback.

SQLite has no row locks: a write transaction locks the whole database, which
serialises the engine's writers anyway, and Django ignores ``select_for_update``
there.  So the same calls are correct on both; only PostgreSQL gets the
concurrency of skipping rows another worker holds.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet


def skip_locked_supported() -> bool:
    return connection.features.has_select_for_update_skip_locked


def for_update(queryset: QuerySet, *, skip_locked: bool = False) -> QuerySet:
    """``queryset`` locked for this transaction.

    ``skip_locked``: leave out rows another transaction holds (PostgreSQL) instead of
    waiting for them; for claims where another worker already has the row in hand.
    Where the database cannot skip, it waits (or, on SQLite, was never concurrent).
    """
    if skip_locked and skip_locked_supported():
        return queryset.select_for_update(skip_locked=True)
    return queryset.select_for_update()

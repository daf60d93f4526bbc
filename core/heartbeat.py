"""A worker's sign of life, written from a thread of its own while a long job runs.

A job that writes its heartbeat only between steps goes quiet for as long as its
longest step (a COPY, a load transaction, a report query), and a reaper cannot
tell that from a dead worker unless its cutoff is longer than any step.  A thread
that touches the row every few seconds keeps the cutoff short, so a dead worker's
job is requeued within a minute or two.

Rows the job itself holds locked are skipped rather than waited for: that
transaction is proof of life, and waiting would block the thread (and the job's
end, which joins it) behind the job's own transaction.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import QuerySet

log = logging.getLogger(__name__)


def touch_unlocked(queryset: QuerySet, **values) -> int:
    """``queryset.update(**values)`` for the rows nobody holds locked; the count written."""
    with transaction.atomic():
        free = queryset.select_for_update(skip_locked=True).values("pk")
        return queryset.model._base_manager.filter(pk__in=free).update(**values)


class Heartbeat:
    """Call ``beat()`` every ``interval`` seconds on a daemon thread while the block runs.

    A failing beat is logged and tried again at the next interval.  The thread's
    database connection is its own (Django's are per thread) and is closed, or
    handed back to the pool, when the block ends.
    """

    def __init__(self, beat: Callable[[], object], interval: float, name: str = "heartbeat"):
        self.beat, self.interval, self.name = beat, interval, name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if self.interval > 0:
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            # A beat blocked on the database ends on its own; never hang the job on it.
            self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.beat()
                except Exception:
                    log.warning("%s: heartbeat failed; trying again in %ss", self.name,
                                self.interval, exc_info=True)
        finally:
            connection.close()

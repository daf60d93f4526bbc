"""Sending the engine's Celery messages, always after the transaction that made the
rows they name has committed (a worker must find the span or execution it is given).

Short waits ride on a Celery ETA; longer ones are left to the reaper, because a
message held past the broker's visibility timeout is delivered a second time
(harmless here, claims make it a no-op, but wasteful).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

_eager = threading.local()


def _send(send: Callable[[], None]) -> None:
    """Send now; but with eager Celery (tests, development), where a task runs inside
    the call that sends it, queue it behind the task running now instead, so that a
    long workflow runs as a loop rather than as ever-deeper recursion (100 nodes would
    pass Python's recursion limit)."""
    from config.celery_app import app

    if not app.conf.task_always_eager:
        send()
        return
    pending = getattr(_eager, "pending", None)
    if pending is not None:
        pending.append(send)
        return
    _eager.pending = deque([send])
    try:
        while _eager.pending:
            _eager.pending.popleft()()
    finally:
        _eager.pending = None


def run_span_later(span_id: int, *, eta: datetime | None = None) -> None:
    """Queue ``run_node(span_id)`` once this transaction commits (at ``eta`` if short)."""
    from .. import tasks  # tasks import the engine: import late

    def send():
        if eta is None or eta <= timezone.now():
            tasks.run_node.delay(span_id)
        elif (eta - timezone.now()).total_seconds() <= settings.WORKFLOW_ETA_MAX_SECONDS:
            tasks.run_node.apply_async((span_id,), eta=eta)
        # else: the reaper sends it once due.

    transaction.on_commit(lambda: _send(send))


def advance_later(execution_id: int) -> None:
    from .. import tasks

    transaction.on_commit(lambda: _send(lambda: tasks.advance_execution.delay(execution_id)))

"""The reaper: what beat runs every ``REAPER_INTERVAL`` to keep executions moving.

Messages get lost (a broker restart) and workers die (SIGKILL, OOM, a lost
machine); the database still says what should be happening, so the reaper
compares it with the clock and sends the work again.  Every step is a
conditional update or an idempotent message, so two reapers, or a reaper and a
late redelivery, do no harm.

1. A ``running`` span without a heartbeat for ``WORKFLOW_STALE_SECONDS`` whose
   worker holds no lock (PostgreSQL; SQLite goes by the heartbeat alone) is
   queued again: the same attempt, re-claimed by the next worker.
2. A ``running`` span past its ``deadline_at`` (a worker alive but unable to stop
   the node, e.g. a thread pool) is marked ``timed_out`` and retried or failed.
3. ``pending`` spans whose time has come (long waits and backoffs), and
   ``queued`` spans whose message has not come for the stale period, are sent.
4. Executions past their deadline are timed out; running executions with no
   active span are advanced (a lost advance); queued ones are admitted if there
   is room.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core import locks

from ..models import Execution, NodeExecution
from . import coordinator, runner
from .plan import Plan

S = NodeExecution.Status
E = Execution.Status


def reap() -> dict:
    from .. import tasks

    now = timezone.now()
    stale = now - timedelta(seconds=settings.WORKFLOW_STALE_SECONDS)
    counts = {"requeued": 0, "timed_out": 0, "sent": 0, "executions": 0}

    for span_id, attempt in NodeExecution.objects.filter(
            status=S.RUNNING, heartbeat_at__lt=stale).values_list("pk", "attempt"):
        if locks.job_lock_held_elsewhere(runner.LOCK_KEY, span_id):
            continue  # a live worker with a slow heartbeat, not a dead one
        if NodeExecution.objects.filter(pk=span_id, status=S.RUNNING,
                                        heartbeat_at__lt=stale).update(
                status=S.QUEUED, heartbeat_at=now,
                error=f"The worker stopped during attempt {attempt}; queued again."):
            counts["requeued"] += 1
            tasks.run_node.delay(span_id)

    grace = now - timedelta(seconds=settings.WORKFLOW_STALE_SECONDS)
    for span in NodeExecution.objects.filter(status=S.RUNNING, deadline_at__lt=grace) \
            .select_related("execution"):
        plan = Plan(span.execution.version.graph)
        limit = plan.timeout(span.node_key) if span.node_key in plan.nodes else 0
        with transaction.atomic():
            if runner.fail(span, f"The attempt ran longer than its timeout ({limit} s); "
                                 "stopped by the reaper.", plan=plan, timed_out=True):
                counts["timed_out"] += 1
                coordinator.advance_later(span.execution_id)

    due = NodeExecution.objects.filter(
        Q(status=S.PENDING, not_before__lte=now)
        | Q(status=S.QUEUED, heartbeat_at__lt=stale)
        & (Q(not_before__isnull=True) | Q(not_before__lt=stale)),
        execution__status=E.RUNNING)
    for span_id in due.values_list("pk", flat=True):
        NodeExecution.objects.filter(pk=span_id, status=S.QUEUED).update(heartbeat_at=now)
        tasks.run_node.delay(span_id)
        counts["sent"] += 1

    active = NodeExecution.objects.filter(execution=OuterRef("pk"),
                                          status__in=coordinator.ACTIVE)
    stuck = Execution.objects.filter(status=E.RUNNING).filter(
        Q(deadline_at__lte=now) | ~Exists(active) & Q(started_at__lt=stale))
    for execution_id in stuck.values_list("pk", flat=True):
        tasks.advance_execution.delay(execution_id)
        counts["executions"] += 1

    for workflow_id in set(Execution.objects.filter(status=E.QUEUED, queued_at__lt=stale)
                           .values_list("workflow_id", flat=True)):
        with transaction.atomic():
            counts["executions"] += len(coordinator.admit(workflow_id))
    return counts


"""Celery tasks of the workflow engine: thin, idempotent, given ids.

``run_node`` runs one span (a node attempt) and ``advance_execution`` lets the
coordinator schedule what became ready; both may be delivered twice, the engine's
claims make the second delivery a no-op.  Beat runs the reaper, the pruner and
the metrics rollup.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from .engine import coordinator, reaper, runner
from .models import NodeExecution


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def run_node(self, span_id: int) -> str:
    """Run one span; early deliveries (before its ``not_before``) wait their turn."""
    state = runner.run_span(span_id)
    if state == "early":
        not_before = NodeExecution.objects.filter(pk=span_id).values_list(
            "not_before", flat=True).first()
        if not_before is not None:
            if self.request.is_eager:
                # Eager (tests, ``manage.py run_workflow`` without a worker): there is
                # no broker to hold the message, so this call waits instead.
                time.sleep(max(0.0, (not_before - timezone.now()).total_seconds()))
                return runner.run_span(span_id)
            run_node.apply_async((span_id,), eta=not_before)
    return state


@shared_task(acks_late=True)
def advance_execution(execution_id: int) -> str:
    return coordinator.advance(execution_id)


@shared_task(acks_late=True)
def reap_workflows() -> dict:
    return reaper.reap()


@shared_task(acks_late=True)
def prune_executions() -> dict:
    from .services.executions import executions_prune

    return executions_prune()


@shared_task(acks_late=True)
def rollup_execution_metrics(day: str | None = None) -> int:
    """Yesterday's metrics by default (beat runs it daily, after midnight)."""
    from .services.executions import metrics_rollup

    when = date.fromisoformat(day) if day else timezone.localdate() - timedelta(days=1)
    return metrics_rollup(when)

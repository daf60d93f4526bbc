"""Executions: start, cancel, re-run and wait for runs of a workflow; prune and roll up.

Every way of running a workflow (the API's ``execute/``, the admin, triggers,
re-runs, sub-workflows, ``manage.py run_workflow``) goes through
``execution_start``: it resolves the version, validates the input, applies the
idempotency key or schedule slot, and queues the execution behind the
workflow's concurrency limit.  The engine (``workflows.engine``) does the rest.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from jsonschema import Draft202012Validator

from billing import entitlements
from core.api.errors import ApiError

from ..engine import coordinator, data
from ..engine.locking import for_update
from ..engine.plan import Plan
from ..models import (
    Deployment,
    Execution,
    ExecutionMetric,
    NodeExecution,
    Workflow,
    WorkflowVersion,
)

E = Execution.Status
S = NodeExecution.Status
#: Sources that may run a paused workflow (a person asked for it, or its parent runs).
PAUSED_SOURCES = (Execution.Source.MANUAL, Execution.Source.RERUN,
                  Execution.Source.SUBWORKFLOW)


def live_version(workflow: Workflow) -> WorkflowVersion | None:
    """The version triggers run: the active production deployment's, else the latest."""
    deployment = (Deployment.objects.filter(workflow=workflow, environment="production",
                                            is_active=True)
                  .select_related("version").first())
    if deployment is not None:
        return deployment.version
    return WorkflowVersion.objects.filter(workflow=workflow).order_by("-number").first()


def _input_errors(version: WorkflowVersion, value) -> list[str]:
    schema = (version.graph.get("settings") or {}).get("input_schema") or {}
    if not schema:
        return []
    validator = Draft202012Validator(schema)
    return [f"{'.'.join(str(p) for p in error.path) or 'input'}: {error.message}"
            for error in sorted(validator.iter_errors(value), key=lambda e: list(e.path))]


def execution_start(*, workflow: Workflow, input=None, source: str = "manual", trigger=None,
                    version: WorkflowVersion | None = None, by=None,
                    idempotency_key: str = "", slot: datetime | None = None,
                    caller: NodeExecution | None = None) -> Execution:
    """Queue an execution (started on commit as the concurrency limit allows).

    An execution that exists for the same (trigger, idempotency key) or (trigger,
    slot) is returned instead, with ``created_now = False``.
    """
    return _start(workflow=workflow, input=input, source=source, trigger=trigger,
                  version=version, by=by, idempotency_key=idempotency_key, slot=slot,
                  caller=caller)


def _start(*, workflow: Workflow, input, source, trigger, version, by, idempotency_key="",
           slot=None, caller=None, parent: Execution | None = None,
           rerun_from: str = "", reuse: dict[str, NodeExecution] | None = None) -> Execution:
    if workflow.status == Workflow.Status.ARCHIVED:
        raise ApiError(409, "workflow_archived",
                       f"The workflow \"{workflow}\" is archived: it cannot run.")
    if workflow.status == Workflow.Status.PAUSED and source not in PAUSED_SOURCES:
        raise ApiError(409, "workflow_paused",
                       f"The workflow \"{workflow}\" is paused: only manual runs and re-runs "
                       "start until it is active again.")
    version = version or live_version(workflow)
    if version is None:
        raise ApiError(409, "not_published",
                       f"The workflow \"{workflow}\" has no published version to run; "
                       "publish it first.")
    value = {} if input is None else input
    problems = _input_errors(version, value)
    if problems:
        raise ValidationError({"input": problems})
    with transaction.atomic():
        # The workflow's lock orders every start (and admission) of this workflow:
        # idempotency checks and the concurrency limit see each other's rows.
        for_update(Workflow.objects.filter(pk=workflow.pk)).first()
        existing = _existing(workflow, trigger, idempotency_key, slot)
        if existing is not None:
            existing.created_now = False
            return existing
        execution = Execution(
            workspace_id=workflow.workspace_id, workflow=workflow, version=version,
            trigger=trigger, source=source, idempotency_key=idempotency_key or "",
            slot=slot, started_by=by, caller=caller, parent=parent, rerun_from=rerun_from,
            attempt=(parent.attempt + 1) if parent else 1,
            depth=(caller.execution.depth + 1) if caller else 0)
        data.store(execution, "input", "input_file", value, stem="execution-input")
        try:
            with transaction.atomic():
                execution.save()
        except IntegrityError:  # the same key or slot, committed meanwhile elsewhere
            existing = _existing(workflow, trigger, idempotency_key, slot)
            if existing is None:
                raise
            existing.created_now = False
            return existing
        _consume_execution(execution)
        if reuse:
            _copy_spans(execution, reuse)
        coordinator.admit(workflow.pk)
    execution.refresh_from_db()
    execution.created_now = True
    return execution


def _consume_execution(execution: Execution) -> None:
    """Count a new execution against the plan's executions per month, in the start's
    transaction (refused: nothing is saved or counted; an input file written for it is
    removed).  Every door (API, admin, schedule, webhook, event, re-run) comes here."""
    try:
        entitlements.consume(execution.workspace_id, "executions_per_month", 1,
                             transaction_id=f"execution:{execution.pk}", source="workflows")
    except entitlements.LimitReached:
        if execution.input_file:  # the row rolls back with the start; its file too
            execution.input_file.delete(save=False)
        raise


def _existing(workflow, trigger, idempotency_key, slot) -> Execution | None:
    if not idempotency_key and slot is None:
        return None
    found = Execution.objects.filter(workflow=workflow, trigger=trigger)
    if idempotency_key:
        match = found.filter(idempotency_key=idempotency_key).first()
        if match is not None:
            return match
    if slot is not None:
        return found.filter(slot=slot).first()
    return None


def _copy_spans(execution: Execution, reuse: dict[str, NodeExecution]) -> None:
    """Spans of a re-run taken over from the execution re-run (outputs reused)."""
    NodeExecution.objects.bulk_create([
        NodeExecution(workspace_id=execution.workspace_id, execution=execution,
                      node_key=key, node_type=span.node_type, node_name=span.node_name,
                      attempt=1, status=span.status, input=span.input, output=span.output,
                      output_file=span.output_file.name or "", output_port=span.output_port,
                      error=span.error, started_at=span.started_at,
                      finished_at=span.finished_at, duration_ms=span.duration_ms,
                      idempotency_key=f"{execution.trace_id}-{key}-1"[:100],
                      reused_from_id=span.reused_from_id or span.pk)
        for key, span in reuse.items()])


def execution_cancel(*, execution: Execution, by=None) -> Execution:
    """Stop an execution: no further node starts; a node running now finishes alone."""
    with transaction.atomic():
        locked = for_update(Execution.objects.filter(pk=execution.pk)).first()
        if locked.status == E.QUEUED:
            locked.status, locked.finished_at = E.CANCELLED, timezone.now()
            locked.cancel_requested = True
            locked.error = "Cancelled before it started."
            locked.save(update_fields=["status", "finished_at", "cancel_requested", "error"])
        elif locked.status == E.RUNNING:
            locked.cancel_requested = True
            locked.save(update_fields=["cancel_requested"])
            coordinator.finish(locked, E.CANCELLED, error="Cancelled.")
    execution.refresh_from_db()
    return execution


def execution_rerun(*, execution: Execution, from_node: str | None = None,
                    current_version: bool = False, by=None) -> Execution:
    """Run again with the same input, from the start or from ``from_node``.

    From a node, the spans of every node not downstream of it are taken over
    (``reused_from``) with their outputs, so only ``from_node`` and what follows
    run again.  ``current_version``: on the workflow's live version instead of the
    one the execution ran (nodes it no longer has are not reused).
    """
    workflow = execution.workflow
    version = live_version(workflow) if current_version else execution.version
    if version is None:
        raise ApiError(409, "not_published",
                       f"The workflow \"{workflow}\" has no published version to run.")
    plan = Plan(version.graph)
    reuse: dict[str, NodeExecution] = {}
    if from_node:
        if from_node not in plan.nodes:
            raise ValidationError({"from_node": [
                f"Version {version.number} has no node {from_node!r}."]})
        again = plan.downstream(from_node)
        reuse = {key: span for key, span in coordinator.latest_spans(execution.pk).items()
                 if key in plan.nodes and key not in again
                 and (span.status in (S.SUCCEEDED, S.SKIPPED)
                      or "error" in coordinator.ports(span))}
    return _start(workflow=workflow, input=data.load(execution, "input", "input_file"),
                  source=Execution.Source.RERUN, trigger=None, version=version, by=by,
                  parent=execution, rerun_from=from_node or "", reuse=reuse)


def execution_wait(execution: Execution, timeout: float) -> Execution:
    """Poll until the execution is finished or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        execution.refresh_from_db()
        if execution.status in Execution.FINISHED or time.monotonic() >= deadline:
            return execution
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


# --- retention and metrics -------------------------------------------------------------


def executions_prune(now: datetime | None = None) -> dict:
    """Delete finished executions older than the retention days, and beyond the newest
    ``WORKFLOW_EXECUTION_RETENTION_COUNT`` of each workflow.  Queued and running ones are
    never touched (nor their files)."""
    now = now or timezone.now()
    finished = Execution.objects.filter(status__in=Execution.FINISHED)
    doomed = set(finished.filter(
        finished_at__lt=now - timedelta(days=settings.WORKFLOW_EXECUTION_RETENTION_DAYS))
        .values_list("pk", flat=True))
    keep = settings.WORKFLOW_EXECUTION_RETENTION_COUNT
    crowded = (Execution.objects.values("workflow_id").annotate(n=Count("pk"))
               .filter(n__gt=keep).values_list("workflow_id", flat=True))
    for workflow_id in crowded:
        newest_first = Execution.objects.filter(workflow_id=workflow_id) \
            .order_by("-queued_at", "-id").values_list("pk", "status")
        doomed.update(pk for pk, status in newest_first[keep:]
                      if status in Execution.FINISHED)
    deleted = 0
    doomed_ids = sorted(doomed)
    for start in range(0, len(doomed_ids), 500):
        batch = doomed_ids[start:start + 500]
        with transaction.atomic():
            files = _files_of(batch)
            deleted += Execution.objects.filter(pk__in=batch, status__in=Execution.FINISHED) \
                .delete()[1].get(Execution._meta.label, 0)
            _delete_unreferenced(files)
    return {"executions": deleted}


def _files_of(execution_ids: list[int]) -> set[str]:
    names = set(NodeExecution.objects.filter(execution_id__in=execution_ids)
                .exclude(output_file="").values_list("output_file", flat=True))
    for inp, out in Execution.objects.filter(pk__in=execution_ids).values_list("input_file",
                                                                              "output_file"):
        names.update(n for n in (inp, out) if n)
    return names


def _delete_unreferenced(names: set[str]) -> None:
    """Remove stored data no remaining span uses (a re-run's reused spans share files)."""
    if not names:
        return
    used = set(NodeExecution.objects.filter(output_file__in=names)
               .values_list("output_file", flat=True))
    storage = NodeExecution._meta.get_field("output_file").storage
    for name in names - used:
        transaction.on_commit(lambda name=name: storage.delete(name))


def _percentile(values: list[int], p: float) -> int | None:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


def metrics_rollup(day: date) -> int:
    """Fill ExecutionMetric for ``day`` (executions finished that day, server time zone):
    counts by status and p50/p95 duration; the rows written."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    rows = (Execution.objects.filter(finished_at__gte=start,
                                     finished_at__lt=start + timedelta(days=1))
            .values_list("workflow_id", "workspace_id", "status", "duration_ms"))
    by_workflow: dict[int, dict] = defaultdict(lambda: {"statuses": [], "durations": []})
    for workflow_id, workspace_id, status, duration in rows:
        entry = by_workflow[workflow_id]
        entry["workspace_id"] = workspace_id
        entry["statuses"].append(status)
        if duration is not None:
            entry["durations"].append(duration)
    for workflow_id, entry in by_workflow.items():
        durations = sorted(entry["durations"])
        statuses = entry["statuses"]
        ExecutionMetric.objects.update_or_create(
            workflow_id=workflow_id, date=day,
            defaults={"workspace_id": entry["workspace_id"], "total": len(statuses),
                      "succeeded": statuses.count(E.SUCCEEDED),
                      "failed": statuses.count(E.FAILED),
                      "cancelled": statuses.count(E.CANCELLED),
                      "timed_out": statuses.count(E.TIMED_OUT),
                      "p50_ms": _percentile(durations, 50),
                      "p95_ms": _percentile(durations, 95)})
    return len(by_workflow)

"""The coordinator: decides, from database state alone, what an execution does next.

``advance(execution_id)`` is called after anything changes (an execution admitted,
a span finished, a wait over, a child execution finished) and as often as anyone
likes: it locks the execution row, reads the latest span of every node, creates
spans for the nodes that became ready (or skipped), and finishes the execution
when nothing is left.  The lock is waited for, not skipped: a worker that skipped
it could miss the very change it came to report, and the execution would stall.
Because only the lock holder creates spans, and a span is unique per
(execution, node, attempt), no node is ever scheduled twice.

Routing (see docs in ``workflows-design.md``): a connection is *taken* when its
source finished and its ``source_output`` is among the ports the source took.  A
node runs once every upstream node finished and at least one connection into it
was taken; with none taken it is skipped, and so on downstream.

``admit(workflow_id)`` starts queued executions in order, as far as the workflow's
concurrency limit allows; the workflow row's lock serialises it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import Execution, NodeExecution, Workflow, WorkflowVersion
from . import data
from .locking import for_update
from .plan import Plan
from .queue import advance_later, run_span_later

log = logging.getLogger(__name__)
S = NodeExecution.Status
E = Execution.Status

#: Spans still to finish.
ACTIVE = (S.PENDING, S.QUEUED, S.RUNNING)
#: Spans whose outputs route onwards (a failure routes only through "error").
DONE = (S.SUCCEEDED, S.SKIPPED, S.FAILED, S.TIMED_OUT)


def ports(span: NodeExecution) -> set[str]:
    return {p for p in (span.output_port or "").split(",") if p}


def latest_spans(execution_id: int) -> dict[str, NodeExecution]:
    """The last attempt of every node that has a span."""
    latest: dict[str, NodeExecution] = {}
    for span in NodeExecution.objects.filter(execution_id=execution_id).order_by("attempt",
                                                                                 "id"):
        latest[span.node_key] = span
    return latest


def _taken(plan: Plan, key: str, latest: dict[str, NodeExecution]):
    """The incoming connections of ``key`` that were taken, with their source spans."""
    for edge in plan.incoming[key]:
        source = latest.get(edge.source)
        if source is not None and edge.source_output in ports(source):
            yield edge, source


def gather_input(plan: Plan, key: str, latest: dict[str, NodeExecution]) -> dict:
    """Per input port, the output of the upstream node (a list when several taken
    connections feed the port, in connection order)."""
    gathered: dict[str, list] = {}
    for edge, source in _taken(plan, key, latest):
        gathered.setdefault(edge.target_input, []).append(
            data.load(source, "output", "output_file"))
    return {port: values[0] if len(values) == 1 else values
            for port, values in gathered.items()}


def fan_in(plan: Plan, key: str, latest: dict[str, NodeExecution]) -> dict[str, int]:
    """Per input port, how many taken connections fed it: tells a merge node one list
    output from several branches' outputs."""
    counts: dict[str, int] = {}
    for edge, _source in _taken(plan, key, latest):
        counts[edge.target_input] = counts.get(edge.target_input, 0) + 1
    return counts


def parent_span_id(plan: Plan, key: str, latest: dict[str, NodeExecution]) -> str:
    """The span that led to ``key``: its first taken upstream span (entry nodes: none)."""
    for _edge, source in _taken(plan, key, latest):
        return source.span_id
    return ""


def finished_outputs(latest: dict[str, NodeExecution]) -> dict[str, dict]:
    """``nodes`` of the expression scope: the outputs of the nodes that succeeded."""
    return {key: {"output": data.load(span, "output", "output_file")}
            for key, span in latest.items() if span.status == S.SUCCEEDED}


def new_span(execution: Execution, plan: Plan, key: str, *, attempt: int = 1,
             **fields) -> NodeExecution:
    node = plan.nodes[key]
    fields.setdefault("heartbeat_at", timezone.now())  # "queued since", for lost messages
    return NodeExecution.objects.create(
        workspace_id=execution.workspace_id, execution=execution, node_key=key,
        node_type=node["type"], node_name=node.get("name", ""), attempt=attempt,
        idempotency_key=f"{execution.trace_id}-{key}-{attempt}"[:100], **fields)


def advance(execution_id: int, *, version: WorkflowVersion | None = None) -> str:
    """Schedule what is ready, skip what cannot run, finish when done; the state after.

    ``version``: the execution's version when the caller has it already (a runner just
    ran one of its nodes); versions never change, so it saves reading the graph again.
    """
    with transaction.atomic():
        execution = for_update(Execution.objects.filter(pk=execution_id)).first()
        if execution is None:
            return "gone"
        if version is not None and version.pk == execution.version_id:
            execution.version = version
        if execution.status != E.RUNNING:
            return execution.status
        if execution.cancel_requested:
            finish(execution, E.CANCELLED, error="Cancelled.")
            return execution.status
        if execution.deadline_at and timezone.now() >= execution.deadline_at:
            finish(execution, E.TIMED_OUT,
                   error="The execution ran longer than its timeout "
                         f"({_execution_timeout(execution)} s).")
            return execution.status
        plan = Plan(execution.version.graph)
        latest = latest_spans(execution_id)
        for key, span in latest.items():
            if span.status in (S.FAILED, S.TIMED_OUT, S.CANCELLED) and "error" not in ports(span):
                finish(execution, E.FAILED, error=span.error or f"{key} {span.status}.",
                       failed_node=key)
                return execution.status
        for key in plan.order:
            if key not in latest:
                span = _ready_span(execution, plan, key, latest)
                if span is not None:
                    latest[key] = span
                    if span.status == S.QUEUED:
                        run_span_later(span.pk)
        if not any(span.status in ACTIVE for span in latest.values()):
            finish(execution, E.SUCCEEDED, output=_output(plan, latest))
        return execution.status


def _ready_span(execution: Execution, plan: Plan, key: str,
                latest: dict[str, NodeExecution]) -> NodeExecution | None:
    """The span for ``key`` if its upstream is done (queued, skipped or passed through)."""
    edges = plan.incoming[key]
    parent = ""
    if edges:
        upstream = [latest.get(edge.source) for edge in edges]
        if any(span is None or span.status not in DONE for span in upstream):
            return None
        parent = parent_span_id(plan, key, latest)
        if not parent:
            now = timezone.now()
            return new_span(execution, plan, key, status=S.SKIPPED, started_at=now,
                            parent_span_id=latest[edges[0].source].span_id,
                            finished_at=now, duration_ms=0,
                            error="Skipped: no connection into it was taken.")
    if plan.nodes[key].get("disabled"):
        # Disabled: not run; its input passes through on "main".
        now = timezone.now()
        span = NodeExecution(output=None)
        data.store(span, "output", "output_file",
                   gather_input(plan, key, latest).get("main"),
                   stem=f"execution-{execution.pk}-{key}")
        return new_span(execution, plan, key, status=S.SKIPPED, output=span.output,
                        parent_span_id=parent,
                        output_file=span.output_file.name or "", output_port="main",
                        started_at=now, finished_at=now, duration_ms=0,
                        error="Disabled: its input passed through.")
    return new_span(execution, plan, key, status=S.QUEUED, parent_span_id=parent)


def _output(plan: Plan, latest: dict[str, NodeExecution]):
    """The execution's output: its one final node's output, or {node: output} of each."""
    outputs = {key: data.load(latest[key], "output", "output_file") for key in plan.sinks()
               if key in latest and latest[key].status in (S.SUCCEEDED, S.SKIPPED)
               and ports(latest[key])}
    if len(outputs) == 1:
        return next(iter(outputs.values()))
    return outputs


def _execution_timeout(execution: Execution) -> int:
    return int((execution.version.graph.get("settings") or {}).get("execution_timeout")
               or execution.workflow.execution_timeout)


def finish(execution: Execution, status: str, *, output=None, error: str = "",
           failed_node: str = "") -> None:
    """End the execution (caller holds its lock): outstanding spans stop, the counts
    are taken, the caller of a sub-workflow is resumed, the next queued run admitted."""
    now = timezone.now()
    spans = NodeExecution.objects.filter(execution=execution)
    spans.filter(status__in=(S.PENDING, S.QUEUED)).update(
        status=S.CANCELLED, finished_at=now,
        error=f"Not run: the execution {'timed out' if status == E.TIMED_OUT else status}.")
    if status in (E.CANCELLED, E.TIMED_OUT):
        # Their workers cannot be interrupted from here; whatever they return is ignored.
        spans.filter(status=S.RUNNING).update(
            status=S.TIMED_OUT if status == E.TIMED_OUT else S.CANCELLED, finished_at=now,
            error="Stopped: the execution timed out." if status == E.TIMED_OUT
            else "Stopped: the execution was cancelled.")
    latest = latest_spans(execution.pk)
    execution.status = status
    execution.finished_at = now
    if execution.started_at:
        execution.duration_ms = int((now - execution.started_at).total_seconds() * 1000)
    if output is not None:
        data.store(execution, "output", "output_file", output,
                   stem=f"execution-{execution.pk}-output")
    execution.error = error[:20_000]
    execution.failed_node = failed_node
    execution.nodes_total = len(Plan(execution.version.graph).nodes)
    execution.nodes_succeeded = sum(s.status == S.SUCCEEDED for s in latest.values())
    execution.nodes_failed = sum(s.status in (S.FAILED, S.TIMED_OUT) for s in latest.values())
    execution.save(update_fields=["status", "finished_at", "duration_ms", "output",
                                  "output_file", "error", "failed_node", "nodes_total",
                                  "nodes_succeeded", "nodes_failed"])
    _announce(execution)
    if execution.caller_id:
        from .runner import resume_caller  # the runner imports this module

        resume_caller(execution)
    admit(execution.workflow_id)


def _announce(execution: Execution) -> None:
    """``workflows.execution.succeeded`` / ``.failed`` (failed or timed out), dispatched
    on commit, for event triggers (payload as ``workflows.events`` declares it)."""
    from core import events

    payload = {"execution": execution.pk, "workflow": execution.workflow_id,
               "version": execution.version.number, "trace_id": execution.trace_id}
    if execution.status == E.SUCCEEDED:
        name = "workflows.execution.succeeded"
        payload["output"] = execution.output  # inline, or the marker of a stored file
    elif execution.status in (E.FAILED, E.TIMED_OUT):
        name = "workflows.execution.failed"
        payload.update(status=execution.status, error=execution.error,
                       failed_node=execution.failed_node)
    else:
        return  # cancelled: someone decided; nothing to react to
    if events.is_registered(name):
        events.emit(name, payload, workspace_id=execution.workspace_id)


def admit(workflow_id: int) -> list[int]:
    """Start queued executions, oldest first, up to the concurrency limit; their ids.

    Must run in a transaction: the workflow row's lock makes every admission of
    one workflow see the others' (so 20 simultaneous starts never pass the limit).
    """
    workflow = for_update(Workflow.objects.filter(pk=workflow_id)).first()
    if workflow is None:
        return []
    executions = Execution.objects.filter(workflow_id=workflow_id)
    limit = workflow.concurrency_limit
    free = None if limit is None else limit - executions.filter(status=E.RUNNING).count()
    if free is not None and free <= 0:
        return []
    queued = executions.filter(status=E.QUEUED).order_by("queued_at", "id")
    picked = list(for_update(queued, skip_locked=True)[:free] if free is not None
                  else for_update(queued, skip_locked=True))
    now = timezone.now()
    for execution in picked:
        execution.status = E.RUNNING
        execution.started_at = now
        execution.deadline_at = now + timedelta(seconds=_execution_timeout(execution))
        execution.save(update_fields=["status", "started_at", "deadline_at"])
        advance_later(execution.pk)
    return [execution.pk for execution in picked]

"""Running one span: claim it, run its node once, record the outcome, advance.

* **Claim.** A conditional UPDATE queued → running: of two deliveries of the same
  message, one wins and the other does nothing, so a finished span is never run
  again.  While it runs the worker holds a PostgreSQL advisory lock on the span
  (gone with its session if the worker dies) and touches ``heartbeat_at`` from a
  thread of its own (``core.heartbeat``); the reaper requeues a span whose
  heartbeat stopped and whose lock is free, as a re-claim of the same attempt.
* **Record.** Conditional on the span still being ``running`` by this claim, so a
  late result of a span the reaper timed out or the execution cancelled is dropped.
* **Failures.** Retried by the merged retry policy as a new span (attempt + 1)
  that waits ``pending`` until its ``not_before``; out of attempts, a node with
  ``continue_on_fail`` goes on through its "error" output, else the execution fails.
* **Waits.** A wait node's span stays ``pending`` until ``not_before`` and a
  sub-workflow's until its child finishes: no worker is held meanwhile.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import locks
from core.heartbeat import Heartbeat, touch_unlocked

from ..models import Execution, NodeExecution
from ..nodes import registry
from ..nodes.base import NodeContext, NodeError, NodeResult
from . import data
from .coordinator import (
    ACTIVE,
    advance,
    fan_in,
    finished_outputs,
    gather_input,
    latest_spans,
    new_span,
)
from .plan import Plan
from .queue import advance_later, run_span_later
from .retry import effective_policy, may_retry, retry_delay
from .timeouts import AttemptTimedOut, time_limit

log = logging.getLogger(__name__)
LOCK_KEY = 731_011  # advisory-lock namespace: spans being run
S = NodeExecution.Status


class Suspend(NodeResult):
    """A node's result meaning "not done yet; resume me later" (a sub-workflow waiting
    for its child): the span stays pending and holds no worker."""


@dataclass
class Outcome:
    status: str
    output: Any = None
    ports: tuple[str, ...] = ()
    error: str = ""
    retryable: bool = False
    wait_until: datetime | None = None
    suspend: bool = False
    secret_values: tuple[str, ...] = field(default_factory=tuple)


def run_span(span_id: int) -> str:
    """Do what the span needs now; what happened ("succeeded", "early", "taken", ...).

    "early" means its ``not_before`` is still ahead: the caller sends it again later.
    """
    span = NodeExecution.objects.filter(pk=span_id).select_related(
        "execution__version").first()
    if span is None:
        return "gone"
    now = timezone.now()
    if span.status == S.PENDING:
        if span.not_before and span.not_before > now:
            return "early"
        if span.started_at is None:  # a retry whose backoff is over
            if not NodeExecution.objects.filter(pk=span_id, status=S.PENDING).update(
                    status=S.QUEUED, heartbeat_at=now):
                return "taken"
        elif span.not_before is not None:  # a wait that is over
            if NodeExecution.objects.filter(pk=span_id, status=S.PENDING).update(
                    status=S.SUCCEEDED, finished_at=now, duration_ms=_ms(span.started_at, now)):
                advance(span.execution_id)
                return "resumed"
            return "taken"
        else:
            return "waiting"  # for its sub-workflow
    elif span.status != S.QUEUED:
        return "taken"  # running elsewhere or finished: never run twice
    if span.execution.status != Execution.Status.RUNNING:
        NodeExecution.objects.filter(pk=span_id, status=S.QUEUED).update(
            status=S.CANCELLED, finished_at=now, error="Not run: the execution ended.")
        return "cancelled"
    if span.not_before and span.not_before > now:
        return "early"
    return _claim_and_run(span)


def _claim_and_run(span: NodeExecution) -> str:
    execution = span.execution
    plan = Plan(execution.version.graph)
    timeout = plan.timeout(span.node_key) if span.node_key in plan.nodes else 300
    if not locks.job_lock_take(LOCK_KEY, span.pk):
        return "taken"
    try:
        # Upstream spans are final before this one is queued: read them once, here.
        latest = latest_spans(execution.pk)
        node_input = gather_input(plan, span.node_key, latest)
        now = timezone.now()
        claim = {"status": S.RUNNING, "started_at": now, "heartbeat_at": now,
                 "finished_at": None, "deadline_at": now + timedelta(seconds=timeout),
                 "input": data.inline_or_marker(node_input)}
        if not NodeExecution.objects.filter(pk=span.pk, status=S.QUEUED).update(**claim):
            return "taken"
        for name, value in claim.items():
            setattr(span, name, value)
        with Heartbeat(lambda: _beat(span.pk), settings.WORKFLOW_HEARTBEAT_SECONDS,
                       name=f"workflow-span-heartbeat-{span.pk}"):
            outcome = _execute(span, execution, plan, timeout, latest, node_input)
    finally:
        locks.job_lock_release(LOCK_KEY, span.pk)
    record(span, outcome, plan)
    advance(execution.pk, version=execution.version)
    return outcome.status


def _beat(span_id: int) -> None:
    touch_unlocked(NodeExecution.objects.filter(pk=span_id, status=S.RUNNING),
                   heartbeat_at=timezone.now())


def _execute(span: NodeExecution, execution: Execution, plan: Plan, timeout: int,
             latest: dict[str, NodeExecution], node_input: dict) -> Outcome:
    """Render the config, run the node under its time limit; never raises for the node."""
    from .. import expressions  # H2's module; imported late, it may be written meanwhile

    node = plan.nodes.get(span.node_key)
    node_type = registry.find(span.node_type)
    if node is None or node_type is None:
        return Outcome(S.FAILED, error=f"No node type {span.node_type!r} in this server's "
                                       "catalogue.")
    execution_input = data.load(execution, "input", "input_file")
    secret_values: tuple[str, ...] = ()
    try:
        scope = {"input": execution_input, "nodes": finished_outputs(latest),
                 "execution": {"id": execution.pk, "trace_id": execution.trace_id}}
        config, secret_values = expressions.render_config(
            node.get("config") or {}, scope=scope,
            secrets=expressions.workspace_secrets(execution.workspace_id,
                                                  execution_id=execution.pk),
            variables=expressions.run_variables(
                execution.started_by_id, resolve_user=lambda: _workflow_owner(execution)))
        context = NodeContext(
            workspace_id=execution.workspace_id, execution_id=execution.pk,
            node_key=span.node_key, attempt=span.attempt, config=config, input=node_input,
            execution_input=execution_input, idempotency_key=span.idempotency_key,
            deadline=time.monotonic() + timeout, depth=execution.depth,
            secret_values=secret_values,
            extra={"span_id": span.pk, "fan_in": fan_in(plan, span.node_key, latest)})
        with time_limit(timeout):
            result = node_type().run(context)
    except AttemptTimedOut as exc:
        return Outcome(S.TIMED_OUT, error=str(exc), retryable=True,
                       secret_values=secret_values)
    except NodeError as exc:
        return Outcome(S.FAILED, error=str(exc), retryable=exc.retryable,
                       secret_values=secret_values)
    except Exception as exc:  # the node's bug or an unexpected failure: recorded, retried
        # The traceback may quote a rendered secret (a URL, a header): log it redacted.
        log.warning("Node %s of execution %s failed:\n%s", span.node_key, execution.pk,
                    expressions.redact(traceback.format_exc(), secret_values))
        return Outcome(S.FAILED, error=f"{type(exc).__name__}: {exc}", retryable=True,
                       secret_values=secret_values)
    result = result if isinstance(result, NodeResult) else NodeResult(output=result)
    return Outcome(S.SUCCEEDED, output=result.output, ports=tuple(result.ports or ()),
                   wait_until=result.wait_until, suspend=isinstance(result, Suspend),
                   secret_values=secret_values)


def _workflow_owner(execution: Execution) -> int | None:
    """Whose variables a run without a starting user reads: the workflow's creator."""
    from ..models import Workflow

    return Workflow.objects.filter(pk=execution.workflow_id).values_list(
        "created_by_id", flat=True).first()


def record(span: NodeExecution, outcome: Outcome, plan: Plan) -> bool:
    """Store the outcome if the span is still running by this claim; False if dropped."""
    from .. import expressions

    now = timezone.now()
    secrets = outcome.secret_values
    outcome.output = expressions.redact(outcome.output, secrets)
    outcome.error = expressions.redact(outcome.error, secrets)[:20_000]
    if outcome.status != S.SUCCEEDED:
        return fail(span, outcome.error, plan=plan, timed_out=outcome.status == S.TIMED_OUT,
                    retryable=outcome.retryable)
    holder = NodeExecution(workspace_id=span.workspace_id)
    data.store(holder, "output", "output_file", outcome.output,
               stem=f"execution-{span.execution_id}-{span.node_key}-{span.attempt}")
    fields = {"output": holder.output, "output_file": holder.output_file.name or "",
              "output_port": ",".join(outcome.ports), "error": ""}
    if outcome.suspend or outcome.wait_until is not None:
        fields.update(status=S.PENDING, not_before=outcome.wait_until)
    else:
        fields.update(status=S.SUCCEEDED, finished_at=now,
                      duration_ms=_ms(span.started_at, now))
    with transaction.atomic():
        written = NodeExecution.objects.filter(pk=span.pk, status=S.RUNNING).update(**fields)
        if written and outcome.wait_until is not None:
            run_span_later(span.pk, eta=outcome.wait_until)
    if not written and holder.output_file:
        holder.output_file.delete(save=False)
    return bool(written)


def fail(span: NodeExecution, error: str, *, plan: Plan, timed_out: bool = False,
         retryable: bool = True, expected=(S.RUNNING,)) -> bool:
    """A failed attempt: retried after a backoff, routed to "error", or left failed
    (the coordinator then fails the execution).  False if the span was not ``expected``."""
    now = timezone.now()
    node = plan.nodes.get(span.node_key) or {}
    policy = effective_policy(plan.settings.get("retry_policy"), node.get("retry_policy"))
    status = S.TIMED_OUT if timed_out else S.FAILED
    finished = {"status": status, "error": error, "finished_at": now,
                "duration_ms": _ms(span.started_at, now)}
    with transaction.atomic():
        if retryable and may_retry(policy, span.attempt):
            delay = retry_delay(policy, span.attempt)
            if not NodeExecution.objects.filter(pk=span.pk, status__in=expected).update(
                    **finished):
                return False
            retry = new_span(span.execution, plan, span.node_key, attempt=span.attempt + 1,
                             status=S.PENDING, not_before=now + timedelta(seconds=delay),
                             heartbeat_at=None, parent_span_id=span.parent_span_id)
            run_span_later(retry.pk, eta=retry.not_before)
            return True
        if node.get("continue_on_fail"):
            finished.update(output={"error": error, "node": span.node_key,
                                    "attempt": span.attempt},
                            output_port="error")
        return bool(NodeExecution.objects.filter(pk=span.pk, status__in=expected).update(
            **finished))


def resume_caller(child: Execution) -> None:
    """A sub-workflow finished: its caller span ends with the child's output or error
    (retried or routed like any failure), and the parent execution goes on."""
    span = NodeExecution.objects.filter(pk=child.caller_id).select_related("execution").first()
    if span is None or span.status not in (S.RUNNING, S.PENDING):
        return
    plan = Plan(span.execution.version.graph)
    now = timezone.now()
    if child.status == Execution.Status.SUCCEEDED:
        holder = NodeExecution(workspace_id=span.workspace_id)
        data.store(holder, "output", "output_file", data.load(child, "output", "output_file"),
                   stem=f"execution-{span.execution_id}-{span.node_key}-{span.attempt}")
        NodeExecution.objects.filter(pk=span.pk, status__in=(S.RUNNING, S.PENDING)).update(
            status=S.SUCCEEDED, output=holder.output, output_file=holder.output_file.name or "",
            output_port="main", error="", finished_at=now, duration_ms=_ms(span.started_at, now))
    else:
        fail(span, f"Sub-workflow execution #{child.pk} {child.status}: {child.error}"[:20_000],
             plan=plan, timed_out=child.status == Execution.Status.TIMED_OUT,
             expected=(S.RUNNING, S.PENDING))
    advance_later(span.execution_id)


def _ms(start: datetime | None, end: datetime) -> int | None:
    return None if start is None else max(0, int((end - start).total_seconds() * 1000))


__all__ = ["ACTIVE", "Outcome", "Suspend", "fail", "record", "resume_caller", "run_span"]

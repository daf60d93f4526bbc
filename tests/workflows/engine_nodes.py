"""Node types for the engine's tests only, and helpers to build versions from a graph.

Every test node writes a row to a run log in the database when it starts (an
AuditEntry with ``request_id="wf-test-run"``), so a test can prove from any process
(a killed worker included) how many times each node ran.  ``register_all`` /
``unregister_all`` add and remove them from the registry (a fixture does it in
tests, ``TEST_WORKER_SETUP`` in a worker process).
"""

from __future__ import annotations

import time

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from core.models import AuditEntry
from tests.factories.workflows import WorkflowFactory, WorkflowVersionFactory
from workflows.engine.plan import Plan
from workflows.models import Execution, NodeExecution
from workflows.nodes import registry
from workflows.nodes.base import NodeContext, NodeError, NodeResult, NodeType
from workflows.snapshot import checksum

RUN_LOG = "wf-test-run"
ANY_CONFIG = {"type": "object"}


def log_run(context: NodeContext) -> int:
    """Record that this node starts; how many times it had started before (in this
    workflow: re-runs count too)."""
    workflow_id = Execution.objects.values_list("workflow_id", flat=True).get(
        pk=context.execution_id)
    before = runs(workflow_id, context.node_key)
    AuditEntry.objects.create(
        request_id=RUN_LOG, action=AuditEntry.Action.CREATE,
        target_type=ContentType.objects.get_for_model(NodeExecution),
        target_id=str(workflow_id), target_repr=context.node_key,
        after={"execution": context.execution_id, "attempt": context.attempt,
               "at": timezone.now().isoformat()})
    return before


def runs(workflow_id: int, node_key: str | None = None) -> int:
    found = AuditEntry.objects.filter(request_id=RUN_LOG, target_id=str(workflow_id))
    if node_key is not None:
        found = found.filter(target_repr=node_key)
    return found.count()


class _TestNode(NodeType):
    category = "core"
    config_schema = ANY_CONFIG


class RecordNode(_TestNode):
    """Logs its run; outputs its config's ``value`` (default: its input)."""

    key = "t_record"
    name = "Record"

    def run(self, context):
        log_run(context)
        return NodeResult(output=context.config.get("value", context.input.get("main")))


class FlakyNode(_TestNode):
    """Fails its first ``fail_times`` runs in the workflow, then succeeds."""

    key = "t_flaky"
    name = "Flaky"

    def run(self, context):
        before = log_run(context)
        if before < context.config.get("fail_times", 1):
            raise NodeError(f"flaky failure #{before + 1}")
        return NodeResult(output={"ok": True, "runs": before + 1})


class SleepNode(_TestNode):
    """Sleeps ``seconds`` (only on its first run with ``first_only``), then outputs its input."""

    key = "t_sleep"
    name = "Sleep"

    def run(self, context):
        before = log_run(context)
        if not context.config.get("first_only") or before == 0:
            time.sleep(context.config.get("seconds", 0))
        return NodeResult(output=context.input.get("main"))


class FailNode(_TestNode):
    key = "t_fail"
    name = "Fail"

    def run(self, context):
        log_run(context)
        raise NodeError(context.config.get("message", "it failed"),
                        retryable=context.config.get("retryable", True))


class BranchNode(_TestNode):
    """Takes the output named by its config's ``port``."""

    key = "t_branch"
    name = "Branch"
    outputs = ("true", "false")

    def run(self, context):
        log_run(context)
        return NodeResult(output=context.input.get("main"), ports=(context.config["port"],))


class CancelSelfNode(_TestNode):
    """Cancels its own execution while it runs (as a user would, mid-run)."""

    key = "t_cancel_self"
    name = "Cancel self"

    def run(self, context):
        from workflows.services.executions import execution_cancel

        log_run(context)
        execution_cancel(execution=Execution.objects.get(pk=context.execution_id))
        return NodeResult(output="cancelled myself")


TYPES = (RecordNode, FlakyNode, SleepNode, FailNode, BranchNode, CancelSelfNode)


def register_all() -> None:
    for cls in TYPES:
        registry.register(cls)


def unregister_all() -> None:
    for cls in TYPES:
        registry._TYPES.pop(cls.key, None)


def node(key: str, type: str = "t_record", **fields) -> dict:
    return {"key": key, "type": type, "name": key.title(), "config": fields.pop("config", {}),
            "retry_policy": fields.pop("retry_policy", None),
            "timeout": fields.pop("timeout", None),
            "continue_on_fail": fields.pop("continue_on_fail", False),
            "disabled": fields.pop("disabled", False), "position": [0, 0]}


def edge(source: str, target: str, source_output: str = "main",
         target_input: str = "main") -> dict:
    return {"source": source, "source_output": source_output, "target": target,
            "target_input": target_input}


def publish(workflow, nodes: list[dict], connections: list[dict], **settings):
    """A published version of ``workflow`` with this graph (the trigger node "start"
    is added when missing), and the workflow's version number moved on."""
    if not any(n["type"] == "trigger" for n in nodes):
        nodes = [node("start", "trigger"), *nodes]
    graph = {"nodes": nodes, "connections": connections,
             "settings": {"execution_timeout": workflow.execution_timeout,
                          "retry_policy": workflow.retry_policy,
                          "concurrency_limit": workflow.concurrency_limit,
                          "timezone": workflow.timezone,
                          "input_schema": workflow.input_schema, **settings}}
    Plan(graph).order  # noqa: B018 - a cycle fails here, not in the engine
    number = workflow.versions.count() + 1
    version = WorkflowVersionFactory(workspace=workflow.workspace, workflow=workflow,
                                     number=number, graph=graph, checksum=checksum(graph))
    type(workflow).objects.filter(pk=workflow.pk).update(version=number)
    return version


def spans(execution, key: str | None = None) -> list[NodeExecution]:
    found = NodeExecution.objects.filter(execution=execution).order_by("attempt", "id")
    if key is not None:
        found = found.filter(node_key=key)
    return list(found)


def statuses(execution) -> dict[str, str]:
    """The last attempt's status of every node."""
    return {span.node_key: span.status for span in spans(execution)}


# --- fixtures (imported by the engine's test modules) ------------------------------------


@pytest.fixture
def test_node_types():
    register_all()
    yield
    unregister_all()


@pytest.fixture
def engine_workflow(db, test_node_types):
    """A workflow without retries or limits (tests add what they need)."""
    return WorkflowFactory(retry_policy={"max_attempts": 1}, concurrency_limit=None,
                           input_schema={}, execution_timeout=600)


@pytest.fixture
def run_eagerly(django_capture_on_commit_callbacks):
    """Start an execution and run it to the end in this process (Celery is eager in
    tests; the commit callbacks that send its tasks run as they would on commit)."""
    from workflows.services.executions import execution_start

    def run(workflow, input=None, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            execution = execution_start(workflow=workflow, input=input or {}, **kwargs)
        execution.refresh_from_db()
        return execution

    return run

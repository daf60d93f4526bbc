"""Factories for workflow models; related rows share their workspace and workflow."""

from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from workflows import models as m
from workflows.snapshot import checksum, graph_snapshot

from .workspaces import SAME_WORKSPACE, MembershipFactory, WorkspaceFactory

SAME_WORKFLOW = factory.SelfAttribute("..workflow")


class WorkflowFactory(DjangoModelFactory):
    class Meta:
        model = m.Workflow
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Nightly sync {n}")
    description = "Imports the day's sales, then emails the regional report"
    status = m.Workflow.Status.ACTIVE
    execution_timeout = 3600
    retry_policy = factory.Dict({"max_attempts": 3, "backoff": 1.0, "jitter": 0.1,
                                 "max_delay": 60.0})
    timezone = "America/Sao_Paulo"
    metadata = factory.Dict({"owner_team": "ops"})
    input_schema = factory.Dict({"type": "object"})


class NodeFactory(DjangoModelFactory):
    """An entry node by default; pass ``type`` and ``config`` for others."""

    class Meta:
        model = m.Node

    workspace = factory.SubFactory(WorkspaceFactory)
    workflow = factory.SubFactory(WorkflowFactory, workspace=SAME_WORKSPACE)
    key = factory.Sequence(lambda n: f"node_{n}")
    type = "trigger"
    name = factory.LazyAttribute(lambda o: o.key.replace("_", " ").title())
    config = factory.Dict({})
    position_x = factory.Sequence(lambda n: 200 * n)
    position_y = 100


class ConnectionFactory(DjangoModelFactory):
    class Meta:
        model = m.Connection

    workspace = factory.SubFactory(WorkspaceFactory)
    workflow = factory.SubFactory(WorkflowFactory, workspace=SAME_WORKSPACE)
    source = factory.SubFactory(NodeFactory, workspace=SAME_WORKSPACE, workflow=SAME_WORKFLOW)
    # A trigger node has no input: the target is a merge (any input, empty config).
    target = factory.SubFactory(NodeFactory, workspace=SAME_WORKSPACE, workflow=SAME_WORKFLOW,
                                type="merge")
    source_output = "main"
    target_input = "main"


def _graph(version) -> dict:
    if not version.workflow.nodes.exists():
        NodeFactory(workspace=version.workspace, workflow=version.workflow, key="start")
    return graph_snapshot(version.workflow)


class WorkflowVersionFactory(DjangoModelFactory):
    """The workflow's graph as it stands (a start node added to an empty one)."""

    class Meta:
        model = m.WorkflowVersion

    workspace = factory.SubFactory(WorkspaceFactory)
    workflow = factory.SubFactory(WorkflowFactory, workspace=SAME_WORKSPACE)
    number = factory.Sequence(lambda n: n + 1)
    graph = factory.LazyAttribute(_graph)
    checksum = factory.LazyAttribute(lambda o: checksum(o.graph))
    note = "First release"
    published_at = factory.LazyFunction(timezone.now)


class WorkflowShareFactory(DjangoModelFactory):
    class Meta:
        model = m.WorkflowShare

    workspace = factory.SubFactory(WorkspaceFactory)
    workflow = factory.SubFactory(WorkflowFactory, workspace=SAME_WORKSPACE)
    user = factory.LazyAttribute(lambda o: MembershipFactory(workspace=o.workspace,
                                                             role="viewer").user)
    access = m.WorkflowShare.Access.RUN


class DeploymentFactory(DjangoModelFactory):
    class Meta:
        model = m.Deployment

    workspace = factory.SubFactory(WorkspaceFactory)
    workflow = factory.SubFactory(WorkflowFactory, workspace=SAME_WORKSPACE)
    version = factory.SubFactory(WorkflowVersionFactory, workspace=SAME_WORKSPACE,
                                 workflow=SAME_WORKFLOW)
    environment = "production"
    is_active = True
    activated_at = factory.LazyFunction(timezone.now)


class TriggerFactory(DjangoModelFactory):
    class Meta:
        model = m.Trigger

    workspace = factory.SubFactory(WorkspaceFactory)
    workflow = factory.SubFactory(WorkflowFactory, workspace=SAME_WORKSPACE)
    kind = m.Trigger.Kind.MANUAL
    name = factory.Sequence(lambda n: f"Run by hand {n}")
    enabled = True
    config = factory.Dict({})


class ExecutionFactory(DjangoModelFactory):
    """A finished, successful execution of a published version."""

    class Meta:
        model = m.Execution

    workspace = factory.SubFactory(WorkspaceFactory)
    workflow = factory.SubFactory(WorkflowFactory, workspace=SAME_WORKSPACE)
    version = factory.SubFactory(WorkflowVersionFactory, workspace=SAME_WORKSPACE,
                                 workflow=SAME_WORKFLOW)
    source = m.Execution.Source.MANUAL
    status = m.Execution.Status.SUCCEEDED
    input = factory.Dict({"customer": "ACME"})
    output = factory.Dict({"ok": True})
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(seconds=2))
    finished_at = factory.LazyFunction(timezone.now)
    duration_ms = 2000
    nodes_total = 1
    nodes_succeeded = 1


class NodeExecutionFactory(DjangoModelFactory):
    class Meta:
        model = m.NodeExecution

    workspace = factory.SubFactory(WorkspaceFactory)
    execution = factory.SubFactory(ExecutionFactory, workspace=SAME_WORKSPACE)
    node_key = "start"
    node_type = "trigger"
    node_name = "Start"
    attempt = factory.Sequence(lambda n: n % 30_000 + 1)
    status = m.NodeExecution.Status.SUCCEEDED
    input = factory.Dict({"main": {"customer": "ACME"}})
    output = factory.Dict({"customer": "ACME"})
    output_port = "main"
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(seconds=1))
    finished_at = factory.LazyFunction(timezone.now)
    duration_ms = 1000


class ExecutionMetricFactory(DjangoModelFactory):
    class Meta:
        model = m.ExecutionMetric

    workspace = factory.SubFactory(WorkspaceFactory)
    workflow = factory.SubFactory(WorkflowFactory, workspace=SAME_WORKSPACE)
    date = factory.Sequence(lambda n: (timezone.now() - timedelta(days=n + 1)).date())
    total = 12
    succeeded = 10
    failed = 1
    cancelled = 1
    p50_ms = 850
    p95_ms = 4100


class NodeCategoryFactory(DjangoModelFactory):
    class Meta:
        model = m.NodeCategory

    key = factory.Sequence(lambda n: f"category-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")
    description = "Nodes for testing"


class NodeTypeFactory(DjangoModelFactory):
    class Meta:
        model = m.NodeType

    key = factory.Sequence(lambda n: f"test_type_{n}")
    category = factory.SubFactory(NodeCategoryFactory)
    name = factory.Sequence(lambda n: f"Test type {n}")
    config_schema = factory.Dict({"type": "object"})
    inputs = factory.List(["main"])
    outputs = factory.List(["main"])

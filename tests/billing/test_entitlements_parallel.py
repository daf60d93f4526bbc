"""The executions limit holds under concurrency (PostgreSQL): parallel consumers, each in
its own thread and database connection, never record more than the plan allows."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from billing import entitlements as ent
from billing.models import UsageRecord
from tests.billing.entitlements_support import plan_with, subscribe
from tests.factories import WorkspaceFactory
from tests.factories.workflows import WorkflowFactory, WorkflowVersionFactory
from workflows.models import Execution, Workflow
from workflows.services.executions import execution_start

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
WORKERS = 20
LIMIT = 7


def in_parallel(fn, n):
    barrier = threading.Barrier(n)

    def one(i):
        barrier.wait()
        try:
            return fn(i)
        except ent.LimitReached:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_parallel_consumption_never_passes_the_limit(features):
    workspace = WorkspaceFactory()
    subscribe(workspace, plan_with(features, executions_per_month=LIMIT))
    results = in_parallel(lambda i: ent.consume(workspace.pk, "executions_per_month", 1,
                                                transaction_id=f"parallel-{i}"), WORKERS)
    assert results.count("refused") == WORKERS - LIMIT
    assert UsageRecord.objects.filter(workspace=workspace).count() == LIMIT


def test_parallel_consumption_under_the_default_plan_locks_the_workspace(features):
    workspace = WorkspaceFactory()
    plan_with(features, is_default=True, executions_per_month=LIMIT)
    in_parallel(lambda i: ent.consume(workspace.pk, "executions_per_month", 1,
                                      transaction_id=f"default-{i}"), WORKERS)
    assert UsageRecord.objects.filter(workspace=workspace).count() == LIMIT


def test_parallel_starts_of_several_workflows_never_pass_the_limit(features):
    workspace = WorkspaceFactory()
    subscribe(workspace, plan_with(features, executions_per_month=LIMIT))
    workflows = []
    for _ in range(4):
        workflow = WorkflowFactory(workspace=workspace, status=Workflow.Status.ACTIVE)
        WorkflowVersionFactory(workspace=workspace, workflow=workflow, number=1)
        workflows.append(workflow)
    results = in_parallel(lambda i: execution_start(workflow=workflows[i % 4], input={}),
                          WORKERS)
    assert results.count("refused") == WORKERS - LIMIT
    assert Execution.objects.filter(workspace=workspace).count() == LIMIT
    assert UsageRecord.objects.filter(workspace=workspace).count() == LIMIT

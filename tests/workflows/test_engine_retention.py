"""Pruning old executions (never running or queued ones) and the daily metrics rollup."""

from datetime import datetime, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from tests.factories.workflows import ExecutionFactory, NodeExecutionFactory, WorkflowFactory
from tests.workflows.engine_nodes import (
    edge,
    engine_workflow,
    node,
    publish,
    test_node_types,
)
from workflows import tasks
from workflows.models import Execution, ExecutionMetric, NodeExecution
from workflows.services.executions import executions_prune, metrics_rollup

E = Execution.Status
FIXTURES = (engine_workflow, test_node_types)  # used by name as test arguments
pytestmark = pytest.mark.django_db


def _execution(workflow, status, *, age_days=0, **fields):
    moment = timezone.now() - timedelta(days=age_days)
    execution = ExecutionFactory(workspace=workflow.workspace, workflow=workflow,
                                 status=status, **fields)
    finished = moment if status in Execution.FINISHED else None
    Execution.objects.filter(pk=execution.pk).update(queued_at=moment, finished_at=finished)
    return execution


def test_pruning_by_age_never_touches_running_or_queued_executions(settings):
    settings.WORKFLOW_EXECUTION_RETENTION_DAYS = 30
    workflow = WorkflowFactory()
    old_done = [_execution(workflow, status, age_days=40)
                for status in (E.SUCCEEDED, E.FAILED, E.CANCELLED, E.TIMED_OUT)]
    old_running = _execution(workflow, E.RUNNING, age_days=40)
    old_queued = _execution(workflow, E.QUEUED, age_days=40)
    recent = _execution(workflow, E.SUCCEEDED, age_days=1)
    NodeExecutionFactory(workspace=workflow.workspace, execution=old_done[0])
    assert executions_prune() == {"executions": 4}
    assert set(Execution.objects.values_list("pk", flat=True)) == {
        old_running.pk, old_queued.pk, recent.pk}
    assert not NodeExecution.objects.filter(execution_id=old_done[0].pk).exists()


def test_pruning_by_count_keeps_the_newest_of_each_workflow(settings):
    settings.WORKFLOW_EXECUTION_RETENTION_COUNT = 3
    busy, quiet = WorkflowFactory(), WorkflowFactory()
    made = [_execution(busy, E.SUCCEEDED, age_days=10 - n) for n in range(5)]
    running = _execution(busy, E.RUNNING, age_days=20)  # the oldest, but running
    kept_quiet = [_execution(quiet, E.FAILED, age_days=n) for n in range(2)]
    assert executions_prune() == {"executions": 2}
    left = set(Execution.objects.values_list("pk", flat=True))
    assert left == {m.pk for m in made[2:]} | {running.pk} | {e.pk for e in kept_quiet}


def test_pruning_deletes_stored_data_no_remaining_span_shares(
        settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    settings.WORKFLOW_EXECUTION_RETENTION_DAYS = 1
    workflow = WorkflowFactory()
    old = _execution(workflow, E.SUCCEEDED, age_days=5)
    span = NodeExecutionFactory(workspace=workflow.workspace, execution=old)
    span.output_file.save("big.json", ContentFile(b'{"a": 1}'))
    shared = NodeExecutionFactory(workspace=workflow.workspace, execution=old)
    shared.output_file.save("shared.json", ContentFile(b"{}"))
    rerun = _execution(workflow, E.SUCCEEDED)
    NodeExecutionFactory(workspace=workflow.workspace, execution=rerun,
                         output_file=shared.output_file.name)
    storage = span.output_file.storage
    big, shared_name = span.output_file.name, shared.output_file.name
    with django_capture_on_commit_callbacks(execute=True):  # files go once rows have
        tasks.prune_executions.delay()
    assert not storage.exists(big) and storage.exists(shared_name)


def test_the_rollup_counts_by_status_with_p50_and_p95(settings):
    workflow, other = WorkflowFactory(), WorkflowFactory()
    day = timezone.localdate() - timedelta(days=1)
    noon = timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=12)
    durations = list(range(100, 2100, 100))  # 20 successes: 100 ... 2000 ms
    for ms in durations:
        _finished_at(workflow, E.SUCCEEDED, noon, ms)
    _finished_at(workflow, E.FAILED, noon, 5000)
    _finished_at(workflow, E.TIMED_OUT, noon, 9000)
    _finished_at(workflow, E.SUCCEEDED, noon + timedelta(days=1), 1)  # another day
    _finished_at(other, E.CANCELLED, noon, 10)
    assert metrics_rollup(day) == 2
    metric = ExecutionMetric.objects.get(workflow=workflow, date=day)
    assert (metric.total, metric.succeeded, metric.failed, metric.timed_out,
            metric.cancelled) == (22, 20, 1, 1, 0)
    # Nearest rank over the 22 durations sorted: p50 the 11th, p95 the 21st.
    assert (metric.p50_ms, metric.p95_ms) == (1100, 5000)
    assert metrics_rollup(day) == 2  # again: the same rows, updated
    assert ExecutionMetric.objects.filter(workflow=workflow).count() == 1
    assert ExecutionMetric.objects.get(workflow=other).cancelled == 1


def _finished_at(workflow, status, moment, ms):
    execution = ExecutionFactory(workspace=workflow.workspace, workflow=workflow, status=status)
    Execution.objects.filter(pk=execution.pk).update(finished_at=moment, duration_ms=ms)


@pytest.mark.django_db(transaction=True)
def test_run_workflow_starts_an_execution_and_waits_for_it(engine_workflow, capsys):
    publish(engine_workflow, [node("a", config={"value": "{{ input.name }}"})],
            [edge("start", "a")])
    call_command("run_workflow", str(engine_workflow.pk), "--input", '{"name": "Ada"}',
                 "--wait", "5")
    out = capsys.readouterr().out
    execution = Execution.objects.get(workflow=engine_workflow)
    assert execution.status == E.SUCCEEDED
    assert f"Execution #{execution.pk}" in out and '"Ada"' in out

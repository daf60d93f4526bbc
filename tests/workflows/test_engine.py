"""The engine, run eagerly in this process: routing, retries, timeouts, cancellation,
re-runs, limits, large data, waits and sub-workflows (SQLite and PostgreSQL)."""

import itertools
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.api.errors import ApiError
from tests.factories.workflows import TriggerFactory, WorkflowFactory
from tests.workflows.engine_nodes import (
    edge,
    engine_workflow,
    node,
    publish,
    run_eagerly,
    runs,
    spans,
    statuses,
    test_node_types,
)
from workflows import tasks
from workflows.engine import reaper
from workflows.engine.retry import delay_bounds, retry_delay
from workflows.models import Execution, NodeExecution, Workflow
from workflows.services import executions as svc

E, S = Execution.Status, NodeExecution.Status
FIXTURES = (engine_workflow, run_eagerly, test_node_types)  # used by name as test arguments
pytestmark = pytest.mark.django_db


# --- routing ---------------------------------------------------------------------------


def test_a_linear_workflow_runs_each_node_once_and_outputs_the_last(engine_workflow,
                                                                   run_eagerly):
    publish(engine_workflow,
            [node("a", config={"value": "{{ input.customer }}"}),
             node("b", config={"value": {"from_a": "{{ nodes.a.output }}"}})],
            [edge("start", "a"), edge("a", "b")])
    execution = run_eagerly(engine_workflow, {"customer": "ACME"})
    assert execution.status == E.SUCCEEDED, execution.error
    assert execution.output == {"from_a": "ACME"}
    assert statuses(execution) == {"start": S.SUCCEEDED, "a": S.SUCCEEDED, "b": S.SUCCEEDED}
    assert (execution.nodes_total, execution.nodes_succeeded, execution.nodes_failed) == (3, 3, 0)
    assert runs(engine_workflow.pk, "a") == runs(engine_workflow.pk, "b") == 1
    b = spans(execution, "b")[0]
    assert b.input == {"main": "ACME"}
    assert b.idempotency_key == f"{execution.trace_id}-b-1"
    assert execution.duration_ms is not None and execution.finished_at >= execution.started_at


def test_fan_out_then_a_merge_waits_for_every_input(engine_workflow, run_eagerly):
    publish(engine_workflow,
            [node("a", "t_sleep", config={"seconds": 0.05}), node("b", config={"value": "B"}),
             node("merge")],
            [edge("start", "a"), edge("start", "b"), edge("a", "merge"), edge("b", "merge")])
    execution = run_eagerly(engine_workflow, {"n": 1})
    assert execution.status == E.SUCCEEDED, execution.error
    merge, = spans(execution, "merge")
    assert merge.input == {"main": [{"n": 1}, "B"]}  # both, in connection order
    assert runs(engine_workflow.pk, "merge") == 1
    a, b = spans(execution, "a")[0], spans(execution, "b")[0]
    assert merge.started_at >= max(a.finished_at, b.finished_at)


def test_each_span_names_the_span_that_led_to_it_and_retries_share_it(engine_workflow,
                                                                     run_eagerly):
    policy = {"max_attempts": 2, "backoff": 0, "jitter": 0, "max_delay": 0}
    publish(engine_workflow,
            [node("a"), node("flaky", "t_flaky", config={"fail_times": 1},
                             retry_policy=policy)],
            [edge("start", "a"), edge("a", "flaky")])
    execution = run_eagerly(engine_workflow)
    assert execution.status == E.SUCCEEDED, execution.error
    start, a = spans(execution, "start")[0], spans(execution, "a")[0]
    first, second = spans(execution, "flaky")
    assert start.parent_span_id == ""  # the root of the trace
    assert a.parent_span_id == start.span_id
    assert first.parent_span_id == second.parent_span_id == a.span_id


def test_a_merge_fed_by_one_taken_branch_keeps_that_branchs_list_whole(engine_workflow,
                                                                       run_eagerly):
    publish(engine_workflow,
            [node("check", "t_branch", config={"port": "true"}),
             node("rows", config={"value": [1, 2, 3]}), node("other"),
             node("join", "merge", config={"mode": "list"})],
            [edge("start", "check"), edge("check", "rows", "true"),
             edge("check", "other", "false"), edge("rows", "join"), edge("other", "join")])
    execution = run_eagerly(engine_workflow)
    assert execution.status == E.SUCCEEDED, execution.error
    assert execution.output == [[1, 2, 3]]  # one branch whose output is a list, not three


def test_the_branch_not_taken_skips_its_whole_subtree(engine_workflow, run_eagerly):
    publish(engine_workflow,
            [node("check", "t_branch", config={"port": "true"}), node("yes"), node("no"),
             node("after_no"), node("join")],
            [edge("start", "check"), edge("check", "yes", "true"), edge("check", "no", "false"),
             edge("no", "after_no"), edge("yes", "join"), edge("after_no", "join")])
    execution = run_eagerly(engine_workflow, {"x": 1})
    assert execution.status == E.SUCCEEDED, execution.error
    found = statuses(execution)
    assert found["yes"] == S.SUCCEEDED and found["join"] == S.SUCCEEDED
    assert found["no"] == S.SKIPPED and found["after_no"] == S.SKIPPED
    assert runs(engine_workflow.pk, "no") == runs(engine_workflow.pk, "after_no") == 0
    assert spans(execution, "join")[0].input == {"main": {"x": 1}}  # only the taken input


def test_continue_on_fail_goes_on_through_the_error_output(engine_workflow, run_eagerly):
    publish(engine_workflow,
            [node("call", "t_fail", config={"message": "upstream said no"},
                  continue_on_fail=True),
             node("on_ok"), node("on_error")],
            [edge("start", "call"), edge("call", "on_ok"), edge("call", "on_error", "error")])
    execution = run_eagerly(engine_workflow)
    assert execution.status == E.SUCCEEDED, execution.error
    found = statuses(execution)
    assert found == {"start": S.SUCCEEDED, "call": S.FAILED, "on_ok": S.SKIPPED,
                     "on_error": S.SUCCEEDED}
    handled = spans(execution, "on_error")[0]
    assert handled.input["main"]["error"] == "upstream said no"


def test_a_disabled_node_passes_its_input_through(engine_workflow, run_eagerly):
    publish(engine_workflow, [node("off", config={"value": "never"}, disabled=True),
                              node("after")],
            [edge("start", "off"), edge("off", "after")])
    execution = run_eagerly(engine_workflow, {"keep": True})
    assert statuses(execution)["off"] == S.SKIPPED
    assert execution.output == {"keep": True} and runs(engine_workflow.pk, "off") == 0


def test_a_failure_fails_the_execution_and_names_the_node(engine_workflow, run_eagerly):
    publish(engine_workflow, [node("bad", "t_fail", config={"retryable": False}),
                              node("after")],
            [edge("start", "bad"), edge("bad", "after")])
    execution = run_eagerly(engine_workflow)
    assert execution.status == E.FAILED and execution.failed_node == "bad"
    assert "it failed" in execution.error
    assert "after" not in statuses(execution)


# --- retries and timeouts ----------------------------------------------------------------


def test_retries_back_off_by_the_policy_and_are_recorded_as_attempts(engine_workflow,
                                                                    run_eagerly):
    policy = {"max_attempts": 3, "backoff": 0.05, "jitter": 0.5, "max_delay": 1}
    publish(engine_workflow, [node("flaky", "t_flaky", config={"fail_times": 2},
                                   retry_policy=policy)],
            [edge("start", "flaky")])
    execution = run_eagerly(engine_workflow)
    assert execution.status == E.SUCCEEDED, execution.error
    attempts = spans(execution, "flaky")
    assert [(s.attempt, s.status) for s in attempts] == [
        (1, S.FAILED), (2, S.FAILED), (3, S.SUCCEEDED)]
    assert attempts[0].error == "flaky failure #1"
    for before, after in itertools.pairwise(attempts):
        low, high = delay_bounds(policy, before.attempt)
        waited = (after.not_before - before.finished_at).total_seconds()
        assert low <= waited <= high
        assert after.started_at >= after.not_before
    assert runs(engine_workflow.pk, "flaky") == 3


def test_retry_delays_double_with_jitter_up_to_the_cap():
    policy = {"max_attempts": 9, "backoff": 2, "jitter": 0.25, "max_delay": 10}
    assert [retry_delay(policy, n, rand=lambda: 0.5) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]
    assert retry_delay(policy, 1, rand=lambda: 0.0) == 1.5
    assert retry_delay(policy, 1, rand=lambda: 1.0) == 2.5


def test_a_node_out_of_attempts_fails_the_execution(engine_workflow, run_eagerly):
    publish(engine_workflow, [node("flaky", "t_flaky", config={"fail_times": 5},
                                   retry_policy={"max_attempts": 2, "backoff": 0})],
            [edge("start", "flaky")])
    execution = run_eagerly(engine_workflow)
    assert execution.status == E.FAILED and execution.failed_node == "flaky"
    assert [s.status for s in spans(execution, "flaky")] == [S.FAILED, S.FAILED]
    assert execution.error == "flaky failure #2"


def test_a_node_past_its_timeout_is_stopped_and_marked_timed_out(engine_workflow,
                                                                 run_eagerly):
    publish(engine_workflow, [node("slow", "t_sleep", config={"seconds": 30}, timeout=1),
                              node("after")],
            [edge("start", "slow"), edge("slow", "after")])
    execution = run_eagerly(engine_workflow)
    slow, = spans(execution, "slow")
    assert slow.status == S.TIMED_OUT and "timeout (1 s)" in slow.error
    assert slow.duration_ms < 10_000  # stopped, not slept through
    assert execution.status == E.FAILED and execution.failed_node == "slow"


def test_an_execution_past_its_timeout_is_timed_out_and_goes_no_further(engine_workflow,
                                                                        run_eagerly):
    publish(engine_workflow, [node("slow", "t_sleep", config={"seconds": 1.2}),
                              node("after")],
            [edge("start", "slow"), edge("slow", "after")], execution_timeout=1)
    execution = run_eagerly(engine_workflow)
    assert execution.status == E.TIMED_OUT and "timeout (1 s)" in execution.error
    assert "after" not in statuses(execution)


# --- cancellation ------------------------------------------------------------------------


def test_cancelling_mid_run_stops_further_nodes(engine_workflow, run_eagerly):
    publish(engine_workflow, [node("stop", "t_cancel_self"), node("after")],
            [edge("start", "stop"), edge("stop", "after")])
    execution = run_eagerly(engine_workflow)
    assert execution.status == E.CANCELLED and execution.cancel_requested
    assert runs(engine_workflow.pk, "after") == 0 and "after" not in statuses(execution)


def test_cancelling_a_queued_execution_means_it_never_runs(engine_workflow,
                                                           django_capture_on_commit_callbacks):
    publish(engine_workflow, [node("a")], [edge("start", "a")])
    Workflow.objects.filter(pk=engine_workflow.pk).update(concurrency_limit=1)
    with django_capture_on_commit_callbacks(execute=True):
        first = svc.execution_start(workflow=engine_workflow)
        second = svc.execution_start(workflow=engine_workflow)
        assert second.status == E.QUEUED
        svc.execution_cancel(execution=second)
    first.refresh_from_db(), second.refresh_from_db()
    assert first.status == E.SUCCEEDED and second.status == E.CANCELLED
    assert runs(engine_workflow.pk, "a") == 1 and spans(second) == []


# --- concurrency limit -------------------------------------------------------------------


def test_executions_past_the_concurrency_limit_wait_queued_and_start_in_order(
        engine_workflow, django_capture_on_commit_callbacks):
    publish(engine_workflow, [node("a")], [edge("start", "a")])
    Workflow.objects.filter(pk=engine_workflow.pk).update(concurrency_limit=2)
    with django_capture_on_commit_callbacks(execute=False) as sent:
        started = [svc.execution_start(workflow=engine_workflow, input={"n": n})
                   for n in range(5)]
    assert [e.status for e in started] == [E.RUNNING, E.RUNNING, E.QUEUED, E.QUEUED, E.QUEUED]
    with django_capture_on_commit_callbacks(execute=True):
        for callback in sent:
            callback()
    finished = sorted(Execution.objects.filter(workflow=engine_workflow),
                      key=lambda e: e.started_at)
    assert [e.input["n"] for e in finished] == [0, 1, 2, 3, 4]
    assert all(e.status == E.SUCCEEDED for e in finished)


# --- re-runs -----------------------------------------------------------------------------


def _failing_at_b(workflow):
    return publish(workflow, [node("a", config={"value": "A"}),
                              node("b", "t_flaky", config={"fail_times": 1}), node("c")],
                   [edge("start", "a"), edge("a", "b"), edge("b", "c")])


def test_a_rerun_from_the_failed_node_reuses_earlier_outputs(engine_workflow, run_eagerly,
                                                             django_capture_on_commit_callbacks):
    _failing_at_b(engine_workflow)
    failed = run_eagerly(engine_workflow, {"id": 7})
    assert failed.status == E.FAILED and failed.failed_node == "b"
    with django_capture_on_commit_callbacks(execute=True):
        rerun = svc.execution_rerun(execution=failed, from_node=failed.failed_node)
    rerun.refresh_from_db()
    assert rerun.status == E.SUCCEEDED, rerun.error
    assert (rerun.parent_id, rerun.attempt, rerun.rerun_from, rerun.source) == (
        failed.pk, 2, "b", Execution.Source.RERUN)
    assert rerun.version_id == failed.version_id and rerun.input == {"id": 7}
    reused = {s.node_key: s.reused_from_id for s in spans(rerun)}
    originals = {s.node_key: s.pk for s in spans(failed)}
    assert reused == {"start": originals["start"], "a": originals["a"], "b": None, "c": None}
    assert runs(engine_workflow.pk, "a") == 1  # not run again
    assert runs(engine_workflow.pk, "b") == 2 and runs(engine_workflow.pk, "c") == 1
    assert spans(rerun, "c")[0].input == {"main": {"ok": True, "runs": 2}}


def test_a_rerun_on_the_current_version_runs_the_fixed_graph(engine_workflow, run_eagerly,
                                                             django_capture_on_commit_callbacks):
    _failing_at_b(engine_workflow)
    failed = run_eagerly(engine_workflow)
    fixed = publish(engine_workflow, [node("a", config={"value": "A"}),
                                      node("b", config={"value": "fixed"}), node("c")],
                    [edge("start", "a"), edge("a", "b"), edge("b", "c")])
    with django_capture_on_commit_callbacks(execute=True):
        rerun = svc.execution_rerun(execution=failed, from_node="b", current_version=True)
    rerun.refresh_from_db()
    assert rerun.version_id == fixed.pk and rerun.status == E.SUCCEEDED
    assert rerun.output == "fixed" and runs(engine_workflow.pk, "a") == 1


def test_a_rerun_from_the_start_runs_everything_again(engine_workflow, run_eagerly,
                                                      django_capture_on_commit_callbacks):
    _failing_at_b(engine_workflow)
    failed = run_eagerly(engine_workflow)
    with django_capture_on_commit_callbacks(execute=True):
        rerun = svc.execution_rerun(execution=failed)
    rerun.refresh_from_db()
    assert rerun.status == E.SUCCEEDED and runs(engine_workflow.pk, "a") == 2
    assert all(s.reused_from_id is None for s in spans(rerun))


def test_a_rerun_from_an_unknown_node_is_refused(engine_workflow, run_eagerly):
    _failing_at_b(engine_workflow)
    failed = run_eagerly(engine_workflow)
    with pytest.raises(ValidationError) as error:
        svc.execution_rerun(execution=failed, from_node="nope")
    assert "from_node" in error.value.message_dict


# --- starting: versions, input, idempotency ---------------------------------------------


def test_start_refuses_unpublished_archived_and_invalid_input(engine_workflow, run_eagerly):
    with pytest.raises(ApiError) as error:
        svc.execution_start(workflow=engine_workflow)
    assert (error.value.status_code, error.value.error_code) == (409, "not_published")
    publish(engine_workflow, [], [], input_schema={
        "type": "object", "required": ["customer"],
        "properties": {"customer": {"type": "string"}}})
    with pytest.raises(ValidationError) as invalid:
        svc.execution_start(workflow=engine_workflow, input={"customer": 3})
    assert "customer: 3 is not of type 'string'" in invalid.value.message_dict["input"]
    Workflow.objects.filter(pk=engine_workflow.pk).update(status=Workflow.Status.ARCHIVED)
    engine_workflow.refresh_from_db()
    with pytest.raises(ApiError) as archived:
        svc.execution_start(workflow=engine_workflow, input={"customer": "x"})
    assert archived.value.error_code == "workflow_archived"


def test_a_paused_workflow_runs_only_by_hand(engine_workflow, run_eagerly):
    publish(engine_workflow, [], [])
    Workflow.objects.filter(pk=engine_workflow.pk).update(status=Workflow.Status.PAUSED)
    engine_workflow.refresh_from_db()
    with pytest.raises(ApiError) as error:
        svc.execution_start(workflow=engine_workflow, source=Execution.Source.WEBHOOK)
    assert error.value.error_code == "workflow_paused"
    assert run_eagerly(engine_workflow).status == E.SUCCEEDED


def test_the_same_trigger_key_or_slot_starts_one_execution(engine_workflow, run_eagerly):
    publish(engine_workflow, [node("a")], [edge("start", "a")])
    trigger = TriggerFactory(workspace=engine_workflow.workspace, workflow=engine_workflow)
    first = run_eagerly(engine_workflow, trigger=trigger, idempotency_key="delivery-1")
    again = run_eagerly(engine_workflow, trigger=trigger, idempotency_key="delivery-1")
    assert first.created_now and not again.created_now and again.pk == first.pk
    slot = timezone.now().replace(microsecond=0)
    tick = run_eagerly(engine_workflow, trigger=trigger, slot=slot)
    assert run_eagerly(engine_workflow, trigger=trigger, slot=slot).pk == tick.pk
    assert runs(engine_workflow.pk, "a") == 2


def test_the_live_version_is_the_deployed_one_else_the_latest(engine_workflow):
    from tests.factories.workflows import DeploymentFactory

    first = publish(engine_workflow, [], [])
    latest = publish(engine_workflow, [node("a")], [edge("start", "a")])
    assert svc.live_version(engine_workflow) == latest
    DeploymentFactory(workspace=engine_workflow.workspace, workflow=engine_workflow,
                      version=first)
    assert svc.live_version(engine_workflow) == first


# --- exactly once, the reaper ------------------------------------------------------------


def test_a_redelivered_message_does_not_run_a_finished_node_again(engine_workflow,
                                                                  run_eagerly):
    publish(engine_workflow, [node("a")], [edge("start", "a")])
    execution = run_eagerly(engine_workflow)
    span, = spans(execution, "a")
    assert tasks.run_node.delay(span.pk).get() == "taken"
    assert runs(engine_workflow.pk, "a") == 1


def test_the_reaper_requeues_a_span_whose_worker_stopped(engine_workflow, settings,
                                                         django_capture_on_commit_callbacks):
    publish(engine_workflow, [node("a"), node("b")], [edge("start", "a"), edge("a", "b")])
    with django_capture_on_commit_callbacks(execute=False):  # its messages are lost
        execution = svc.execution_start(workflow=engine_workflow)
    from workflows.engine import coordinator

    with django_capture_on_commit_callbacks(execute=False):
        coordinator.advance(execution.pk)
    long_ago = timezone.now() - timedelta(seconds=settings.WORKFLOW_STALE_SECONDS + 5)
    # "start" was being run by a worker that died: running, its heartbeat long stopped.
    NodeExecution.objects.filter(execution=execution, node_key="start").update(
        status=S.RUNNING, started_at=long_ago, heartbeat_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert reaper.reap()["requeued"] == 1
    execution.refresh_from_db()
    assert execution.status == E.SUCCEEDED, execution.error
    start, = spans(execution, "start")
    assert start.attempt == 1 and "worker stopped during attempt 1" not in start.error
    assert runs(engine_workflow.pk, "a") == runs(engine_workflow.pk, "b") == 1


def test_the_reaper_times_out_a_span_its_worker_could_not_stop(engine_workflow, settings,
                                                               django_capture_on_commit_callbacks):
    publish(engine_workflow, [node("a", timeout=5)], [edge("start", "a")])
    with django_capture_on_commit_callbacks(execute=False):
        execution = svc.execution_start(workflow=engine_workflow)
    from workflows.engine import coordinator

    with django_capture_on_commit_callbacks(execute=False):
        coordinator.advance(execution.pk)
    past = timezone.now() - timedelta(seconds=settings.WORKFLOW_STALE_SECONDS + 1)
    NodeExecution.objects.filter(execution=execution).update(
        status=S.RUNNING, started_at=past - timedelta(seconds=5), heartbeat_at=timezone.now(),
        deadline_at=past)
    with django_capture_on_commit_callbacks(execute=True):
        assert reaper.reap()["timed_out"] == 1
    execution.refresh_from_db()
    assert spans(execution, "start")[0].status == S.TIMED_OUT
    assert execution.status == E.FAILED and execution.failed_node == "start"


# --- data, waits, sub-workflows ----------------------------------------------------------


def test_large_data_goes_to_file_storage_not_the_row(engine_workflow, run_eagerly, settings,
                                                     tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.WORKFLOW_INLINE_DATA_BYTES = 200
    big = "x" * 1000
    publish(engine_workflow, [node("big", config={"value": {"text": big}}), node("after")],
            [edge("start", "big"), edge("big", "after")])
    execution = run_eagerly(engine_workflow)
    assert execution.status == E.SUCCEEDED, execution.error
    stored, = spans(execution, "big")
    assert stored.output["$ref"] == "file" and stored.output["bytes"] > 1000
    assert stored.output_file.name
    assert spans(execution, "after")[0].input["$ref"] == "omitted"  # shown only by size
    assert execution.output == {"$ref": "file", "bytes": stored.output["bytes"]}
    from workflows.engine import data

    assert data.load(execution, "output", "output_file") == {"text": big}


def test_a_short_wait_resumes_the_execution(engine_workflow, run_eagerly):
    publish(engine_workflow, [node("pause", "wait", config={"seconds": 0.05}), node("after")],
            [edge("start", "pause"), edge("pause", "after")])
    execution = run_eagerly(engine_workflow, {"k": 1})
    assert execution.status == E.SUCCEEDED, execution.error
    pause, = spans(execution, "pause")
    assert pause.status == S.SUCCEEDED and pause.finished_at >= pause.not_before
    assert execution.output == {"k": 1}


def test_a_long_wait_holds_no_worker_and_the_reaper_resumes_it(engine_workflow, run_eagerly,
                                                               django_capture_on_commit_callbacks):
    publish(engine_workflow, [node("pause", "wait", config={"seconds": 3600}), node("after")],
            [edge("start", "pause"), edge("pause", "after")])
    execution = run_eagerly(engine_workflow)  # returns: nothing waits in this process
    assert execution.status == E.RUNNING
    pause, = spans(execution, "pause")
    assert pause.status == S.PENDING and pause.not_before > timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert reaper.reap()["sent"] == 0  # not due yet
    NodeExecution.objects.filter(pk=pause.pk).update(not_before=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert reaper.reap()["sent"] == 1
    execution.refresh_from_db()
    assert execution.status == E.SUCCEEDED and runs(engine_workflow.pk, "after") == 1


def test_a_subworkflow_runs_and_its_output_comes_back(engine_workflow, run_eagerly):
    child_workflow = WorkflowFactory(workspace=engine_workflow.workspace, input_schema={},
                                     retry_policy={"max_attempts": 1})
    publish(child_workflow, [node("inner", config={"value": {"got": "{{ input.n }}"}})],
            [edge("start", "inner")])
    publish(engine_workflow, [node("call", "subworkflow",
                                   config={"workflow": child_workflow.pk,
                                           "input": {"n": "{{ input.n }}"}}),
                              node("after")],
            [edge("start", "call"), edge("call", "after")])
    execution = run_eagerly(engine_workflow, {"n": 5})
    assert execution.status == E.SUCCEEDED, execution.error
    assert execution.output == {"got": 5}
    call, = spans(execution, "call")
    child = Execution.objects.get(caller=call)
    assert (child.depth, child.source, child.status) == (1, "subworkflow", E.SUCCEEDED)
    assert call.status == S.SUCCEEDED and call.output == {"got": 5}


def test_subworkflows_nest_only_to_the_depth_limit(engine_workflow, run_eagerly, settings):
    settings.WORKFLOW_MAX_DEPTH = 2
    publish(engine_workflow, [node("again", "subworkflow",
                                   config={"workflow": engine_workflow.pk})],
            [edge("start", "again")])
    execution = run_eagerly(engine_workflow)
    assert execution.status == E.FAILED
    chain = list(Execution.objects.filter(workflow=engine_workflow).order_by("depth"))
    assert [e.depth for e in chain] == [0, 1, 2]
    assert "at most 2 deep" in chain[-1].error
    assert all(e.status == E.FAILED for e in chain)


def test_a_failed_subworkflow_fails_its_caller_span(engine_workflow, run_eagerly):
    child_workflow = WorkflowFactory(workspace=engine_workflow.workspace, input_schema={},
                                     retry_policy={"max_attempts": 1})
    publish(child_workflow, [node("boom", "t_fail", config={"retryable": False})],
            [edge("start", "boom")])
    publish(engine_workflow, [node("call", "subworkflow",
                                   config={"workflow": child_workflow.pk})],
            [edge("start", "call")])
    execution = run_eagerly(engine_workflow)
    assert execution.status == E.FAILED and execution.failed_node == "call"
    assert "Sub-workflow execution" in execution.error and "it failed" in execution.error


def test_a_secret_used_by_a_node_is_redacted_from_every_span_and_error(engine_workflow,
                                                                       run_eagerly):
    from tests.factories.workspaces import SecretFactory
    from workspaces.services import vault

    SecretFactory(workspace=engine_workflow.workspace, name="CRM_TOKEN",
                  ciphertext=vault.encrypt("s3cr3t-value-42"))
    publish(engine_workflow,
            [node("leak", config={"value": {"auth": "Bearer {{ secrets.CRM_TOKEN }}"}}),
             node("boom", "t_fail", config={"message": "rejected {{ secrets.CRM_TOKEN }}"},
                  continue_on_fail=True)],
            [edge("start", "leak"), edge("leak", "boom")])
    execution = run_eagerly(engine_workflow)
    assert execution.status == E.SUCCEEDED, execution.error
    assert spans(execution, "leak")[0].output == {"auth": "Bearer ***"}
    stored = [execution.output, execution.error, execution.input] + [
        (s.input, s.output, s.error) for s in spans(execution)]
    assert "s3cr3t-value-42" not in repr(stored)
    assert spans(execution, "boom")[0].error == "rejected ***"


def test_a_finished_execution_announces_its_outcome(engine_workflow, run_eagerly):
    from core import events

    publish(engine_workflow, [node("a", config={"value": "done"})], [edge("start", "a")])
    seen = []
    events.subscribe(seen.append)
    try:
        execution = run_eagerly(engine_workflow)
    finally:
        events.unsubscribe(seen.append)
    announced = [e for e in seen if e.name.startswith("workflows.execution.")]
    assert [(e.name, e.payload["execution"], e.payload["workflow"], e.payload["output"])
            for e in announced] == [("workflows.execution.succeeded", execution.pk,
                                     engine_workflow.pk, "done")]


@pytest.mark.django_db(transaction=True)
def test_a_long_workflow_runs_eagerly_without_deep_recursion(engine_workflow):
    """Eager Celery runs a task inside the call that sends it; 150 nodes in a row would
    pass Python's recursion limit unless the engine queues them behind each other."""
    keys = [f"n{i:03d}" for i in range(150)]
    publish(engine_workflow, [node(key) for key in keys],
            [edge(a, b) for a, b in itertools.pairwise(["start", *keys])])
    execution = svc.execution_start(workflow=engine_workflow, input={"v": 1})
    execution.refresh_from_db()
    assert execution.status == E.SUCCEEDED, execution.error
    assert execution.output == {"v": 1} and runs(engine_workflow.pk) == 150

"""The engine on real Celery workers (Redis, PostgreSQL): retries, a node timeout, a
worker SIGKILLed mid-execution, and 20 simultaneous starts against a limit of 3.

Slow by nature (workers start in processes of their own): few tests, each proving
several things.  Figures are printed (``pytest -s``), never asserted as timings.
"""

import itertools
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection

from tests import dead_worker
from tests.workflows.engine_nodes import (
    edge,
    engine_workflow,
    node,
    publish,
    runs,
    spans,
    test_node_types,
)
from workflows.engine import reaper
from workflows.engine.retry import delay_bounds
from workflows.models import Execution, NodeExecution, Workflow
from workflows.services import executions as svc

E, S = Execution.Status, NodeExecution.Status
FIXTURES = (engine_workflow, test_node_types)  # used by name as test arguments
SETUP = "tests.workflows.engine_nodes:register_all"
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers(settings):
    yield from dead_worker.redis_workers(settings)


def _wait_finished(execution, process, timeout=90):
    def finished():
        execution.refresh_from_db()
        return execution.status in Execution.FINISHED

    dead_worker.wait_for(f"execution #{execution.pk} to finish", finished, timeout=timeout,
                         process=process)


def test_retries_back_off_and_a_node_timeout_fires_on_a_worker(engine_workflow, workers):
    policy = {"max_attempts": 3, "backoff": 0.5, "jitter": 0.2, "max_delay": 5}
    publish(engine_workflow,
            [node("flaky", "t_flaky", config={"fail_times": 2}, retry_policy=policy),
             node("slow", "t_sleep", config={"seconds": 60}, timeout=1,
                  continue_on_fail=True)],
            [edge("start", "flaky"), edge("start", "slow")])
    worker = workers.start(setup=SETUP)
    execution = svc.execution_start(workflow=engine_workflow)
    _wait_finished(execution, worker)
    assert execution.status == E.SUCCEEDED, execution.error
    attempts = spans(execution, "flaky")
    assert [(s.attempt, s.status) for s in attempts] == [
        (1, S.FAILED), (2, S.FAILED), (3, S.SUCCEEDED)]
    for before, after in itertools.pairwise(attempts):
        low, high = delay_bounds(policy, before.attempt)
        assert low <= (after.not_before - before.finished_at).total_seconds() <= high
        assert after.started_at >= after.not_before
        print(f"\nattempt {after.attempt}: backoff "
              f"{(after.not_before - before.finished_at).total_seconds():.3f} s "
              f"(policy {low:.2f}-{high:.2f} s), started "
              f"{(after.started_at - after.not_before).total_seconds():.3f} s after due")
    slow, = spans(execution, "slow")
    assert slow.status == S.TIMED_OUT and slow.output_port == "error"
    assert slow.duration_ms < 30_000  # stopped by the worker, not slept through
    print(f"timed-out span stopped after {slow.duration_ms} ms (timeout 1 s)")


def test_a_killed_worker_leaves_an_execution_that_finishes_with_no_node_run_twice(
        engine_workflow, workers, settings):
    """SIGKILL the worker while a node runs: its heartbeat stops, the reaper queues the
    span again (same attempt), a new worker finishes the execution; every node that had
    finished ran once, and the killed one finished once."""
    settings.WORKFLOW_STALE_SECONDS = dead_worker.STALE
    publish(engine_workflow,
            [node("a"), node("slow", "t_sleep", config={"seconds": 600, "first_only": True},
                             timeout=900),
             node("c")],
            [edge("start", "a"), edge("a", "slow"), edge("slow", "c")])
    first = workers.start(setup=SETUP)
    execution = svc.execution_start(workflow=engine_workflow, input={"order": 42})

    def slow_running():
        return NodeExecution.objects.filter(execution=execution, node_key="slow",
                                            status=S.RUNNING).exists()

    dead_worker.wait_for("the worker to run the slow node", slow_running, process=first)
    time.sleep(dead_worker.STALE + 1)  # alive: its heartbeat keeps the reaper off
    assert reaper.reap()["requeued"] == 0
    span = NodeExecution.objects.get(execution=execution, node_key="slow")
    assert span.status == S.RUNNING and span.heartbeat_at > span.started_at

    killed_at = workers.kill(first)
    span.refresh_from_db()
    last_beat = span.heartbeat_at

    def requeued():
        span.refresh_from_db()
        return span.status != S.RUNNING

    dead_worker.reap_until_requeued(reaper.reap, requeued)
    requeued_at = span.heartbeat_at
    print(f"\nspan #{span.pk}: worker SIGKILLed; requeued "
          f"{(requeued_at - killed_at).total_seconds():.2f} s after the kill "
          f"({(requeued_at - last_beat).total_seconds():.2f} s after its last heartbeat)")
    assert (requeued_at - last_beat) >= timedelta(seconds=dead_worker.STALE)

    second = workers.start(setup=SETUP)
    _wait_finished(execution, second)
    assert execution.status == E.SUCCEEDED, execution.error
    assert execution.output == {"order": 42}
    assert runs(engine_workflow.pk, "a") == 1 and runs(engine_workflow.pk, "c") == 1
    assert runs(engine_workflow.pk, "slow") == 2  # begun twice (killed once), finished once
    assert [(s.node_key, s.attempt, s.status) for s in spans(execution)] == [
        ("start", 1, S.SUCCEEDED), ("a", 1, S.SUCCEEDED), ("slow", 1, S.SUCCEEDED),
        ("c", 1, S.SUCCEEDED)]


def test_twenty_simultaneous_starts_never_exceed_a_concurrency_limit_of_three(
        engine_workflow, workers):
    Workflow.objects.filter(pk=engine_workflow.pk).update(concurrency_limit=3)
    publish(engine_workflow, [node("nap", "t_sleep", config={"seconds": 0.2})],
            [edge("start", "nap")], concurrency_limit=3)
    processes = [workers.start(setup=SETUP) for _ in range(2)]
    barrier, started, errors = threading.Barrier(20), [], []

    def start(n):
        try:
            barrier.wait()
            workflow = Workflow.objects.get(pk=engine_workflow.pk)
            started.append(svc.execution_start(workflow=workflow, input={"n": n}).pk)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(started) == 20

    def all_finished():
        return Execution.objects.filter(workflow=engine_workflow,
                                        status__in=Execution.FINISHED).count() == 20

    dead_worker.wait_for("20 executions to finish", all_finished, timeout=180,
                         process=processes[0])
    done = list(Execution.objects.filter(workflow=engine_workflow).order_by("queued_at", "id"))
    assert {e.status for e in done} == {E.SUCCEEDED}
    moments = sorted([(e.started_at, 1) for e in done] + [(e.finished_at, -1) for e in done],
                     key=lambda m: (m[0], m[1]))  # an end before a start at the same instant
    running = highest = 0
    for _, change in moments:
        running += change
        highest = max(highest, running)
    print(f"\n20 simultaneous starts, limit 3: at most {highest} running at once; "
          f"all done in {(done[-1].finished_at - done[0].queued_at).total_seconds():.1f} s")
    assert highest == 3
    starts = [e.started_at for e in done]
    assert starts == sorted(starts)  # FIFO: started in the order they were queued
    assert runs(engine_workflow.pk, "nap") == 20

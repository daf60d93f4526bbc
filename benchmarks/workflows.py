"""The workflow engine on a real Celery worker: PostgreSQL, Redis, a worker subprocess.

Starts ``celery worker`` (prefork, ``BENCH_WF_WORKER_CONCURRENCY`` processes, default 2)
as a subprocess on a queue of its own, against the benchmark database and the Redis of
``CELERY_BROKER_URL``, with the worker's production settings (DEBUG off, the psycopg
pool as configured), then measures:

(a) a bare Celery round trip: a trivial task, ``delay`` + ``get`` on the configured
    result backend, ``BENCH_WF_ROUNDTRIPS`` times (default 200) -> median ms;
(b) engine overhead per node: a 10-node linear workflow (trigger + 9 ``set_values``),
    started by ``execution_start`` and waited for, one at a time,
    ``BENCH_WF_SEQUENTIAL`` times (default 30): (end-to-end time - the nodes' own
    work) / 10 against (a).  Target: at most 3x.  The nodes' own work is
    ``SetValuesNode.run`` timed in this process (microseconds);
(c) executions per second, ``BENCH_WF_BATCH`` (default 50) started at once, for the
    10-node linear workflow and a 10-node fan-out/fan-in one (trigger -> 8 parallel
    ``set_values`` -> ``merge``): from the first ``queued_at`` to the last
    ``finished_at``;
(d) ``BENCH_WF_QUEUED`` (default 1,000) executions of a 2-node workflow queued at once
    against a concurrency limit of 5: the most ever running at once, computed from the
    executions' ``started_at``/``finished_at`` intervals (must never exceed 5), whether
    they started in the order they were queued, and the total time.

Times are printed, never asserted.  Workflows are built through the definition
services (``workflows.services.definitions``) and run through
``workflows.services.executions.execution_start``, as any trigger runs them.

Alone: ``python -m benchmarks --workflows-only`` (needs ``CELERY_BROKER_URL=redis://...``).
"""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections

from .timing import Result

ROUNDTRIPS = int(os.environ.get("BENCH_WF_ROUNDTRIPS") or 200)
SEQUENTIAL = int(os.environ.get("BENCH_WF_SEQUENTIAL") or 30)
BATCH = int(os.environ.get("BENCH_WF_BATCH") or 50)
QUEUED = int(os.environ.get("BENCH_WF_QUEUED") or 1000)
WORKER_CONCURRENCY = int(os.environ.get("BENCH_WF_WORKER_CONCURRENCY") or 2)
LIMIT = 5
NODES = 10
TARGET_OVERHEAD = 3.0
POLL = 0.002  # seconds between checks for a result, for (a) and (b) alike
WORKSPACE = "bench-workflows"
BASE_DIR = Path(__file__).resolve().parent.parent
LOG_DIR = BASE_DIR / "var" / "bench"
NOOP_TASK = "benchmarks.noop"

# The worker: Django set up, a trivial task for (a), the engine's tasks from autodiscovery.
WORKER = """
import sys
import django
django.setup()
from config.celery_app import app

@app.task(name="benchmarks.noop")
def noop():
    return None

app.conf.update(task_default_queue=sys.argv[1])
app.worker_main(["worker", "--pool=prefork", "--concurrency=" + sys.argv[2],
                 "--loglevel=WARNING", "-Q", sys.argv[1], "-n", sys.argv[1] + "@%h",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"])
"""


def run() -> list[Result]:
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith(("redis://", "rediss://")):
        print("workflows benchmark skipped: it needs Redis (CELERY_BROKER_URL=redis://...)",
              flush=True)
        return []
    queue = f"bench-workflows-{uuid.uuid4().hex[:8]}"
    worker = _Worker(queue)
    with worker:
        bare = _bare_round_trips()
        workspace = _workspace()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        linear = _linear(workspace, f"bench linear {stamp}")
        fan = _fan(workspace, f"bench fan-out/fan-in {stamp}")
        limited = _limited(workspace, f"bench limit {stamp}")
        overhead = _overhead(linear, bare)
        for label, workflow in (("10-node linear", linear), ("10-node fan-out/fan-in", fan)):
            _throughput(label, workflow)
        limit = _concurrency(limited)
    return [overhead, limit]


# --- the worker ---------------------------------------------------------------------------


class _Worker:
    """The worker subprocess on ``queue``; this process sends its tasks there too."""

    def __init__(self, queue: str):
        self.queue = queue
        self.process: subprocess.Popen | None = None
        self.log = LOG_DIR / "workflows-worker.log"

    def __enter__(self) -> _Worker:
        from config.celery_app import app

        self._saved_queue = app.conf.task_default_queue
        _route_to(self.queue)
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        # The worker as production runs it: the database pool as configured (this
        # process turned it off for itself, see benchmarks.__main__).
        env.pop("DB_POOL_MAX_SIZE", None)
        env.pop("CONN_MAX_AGE", None)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", WORKER, self.queue, str(WORKER_CONCURRENCY)],
                env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        self._wait_until_up()
        return self

    def _wait_until_up(self, timeout: float = 90) -> None:
        from config.celery_app import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited ({self.process.returncode}); "
                                   f"see {self.log}")
            try:
                app.send_task(NOOP_TASK).get(timeout=5, interval=0.05)
                return
            except Exception:  # not consuming yet (TimeoutError) or starting up
                continue
        raise RuntimeError(f"the Celery worker did not answer within {timeout:g} s; "
                           f"see {self.log}")

    def __exit__(self, *exc_info) -> None:
        import signal

        from config.celery_app import app

        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        with app.connection_for_write() as conn:  # leave no queue behind in Redis
            conn.default_channel.queue_delete(self.queue)
        _route_to(self._saved_queue)


def _route_to(queue: str) -> None:
    from config.celery_app import app

    app.conf.task_default_queue = queue
    for name in ("default_queue", "queues", "router"):  # Celery caches what it derived
        app.amqp.__dict__.pop(name, None)


# --- building the workflows ---------------------------------------------------------------


def _workspace():
    from workspaces.models import Workspace

    workspace, _ = Workspace.objects.get_or_create(slug=WORKSPACE,
                                                   defaults={"name": "Benchmark workflows"})
    return workspace


def _set(n: int) -> tuple[str, dict]:
    return "set_values", {"values": {f"step_{n}": n}}


def _linear(workspace, name: str):
    nodes = [("start", "trigger", {})] + [(f"s{n}", *_set(n)) for n in range(1, NODES)]
    keys = [key for key, _, _ in nodes]
    return _build(workspace, name, nodes, list(itertools.pairwise(keys)))


def _fan(workspace, name: str):
    branches = [(f"b{n}", *_set(n)) for n in range(1, NODES - 1)]
    nodes = [("start", "trigger", {}), *branches, ("join", "merge", {"mode": "list"})]
    edges = [("start", key) for key, _, _ in branches] + \
        [(key, "join") for key, _, _ in branches]
    return _build(workspace, name, nodes, edges)


def _limited(workspace, name: str):
    return _build(workspace, name, [("start", "trigger", {}), ("s1", *_set(1))],
                  [("start", "s1")], concurrency_limit=LIMIT)


def _build(workspace, name: str, nodes, edges, **settings_):
    """Draft nodes and connections through the definition services, then published."""
    from workflows.services import definitions

    workflow = definitions.workflow_create(workspace=workspace, name=name, **settings_)
    made = {key: definitions.node_create(workflow=workflow, key=key, type=type_,
                                         config=config, position_x=100 * n)
            for n, (key, type_, config) in enumerate(nodes)}
    for source, target in edges:
        definitions.connection_create(workflow=workflow, source=made[source],
                                      target=made[target])
    definitions.workflow_publish(workflow=workflow, note="benchmark")
    workflow.refresh_from_db()
    return workflow


# --- (a) bare round trip ------------------------------------------------------------------


def _bare_round_trips() -> list[float]:
    from config.celery_app import app

    for _ in range(20):  # warm up: connections, the worker's children
        app.send_task(NOOP_TASK).get(timeout=30, interval=POLL)
    times = []
    for _ in range(ROUNDTRIPS):
        started = time.perf_counter()
        app.send_task(NOOP_TASK).get(timeout=30, interval=POLL)
        times.append((time.perf_counter() - started) * 1000)
    print(f"workflows (a): bare Celery round trip (send + get, result backend "
          f"{settings.CELERY_RESULT_BACKEND}, {WORKER_CONCURRENCY} worker processes): "
          f"median {statistics.median(times):.1f} ms, p90 {_pct(times, 0.9):.1f} ms "
          f"over {ROUNDTRIPS}", flush=True)
    return times


# --- (b) overhead per node ----------------------------------------------------------------


def _node_work_ms() -> float:
    """``SetValuesNode.run`` on its own, in this process: the node's work (median ms)."""
    from workflows.nodes.base import NodeContext
    from workflows.nodes.data import SetValuesNode

    node = SetValuesNode()
    context = NodeContext(workspace_id=0, execution_id=0, node_key="s1", attempt=1,
                          config={"values": {"step_1": 1}}, input={"main": {"n": 1}})
    times = []
    for _ in range(2000):
        started = time.perf_counter()
        node.run(context)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _run_one(workflow, n: int):
    from workflows.models import Execution
    from workflows.services.executions import execution_start

    started = time.perf_counter()
    execution = execution_start(workflow=workflow, input={"n": n})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = Execution.objects.filter(pk=execution.pk).values_list("status",
                                                                       flat=True).first()
        if status in Execution.FINISHED:
            break
        time.sleep(POLL)
    elapsed = (time.perf_counter() - started) * 1000
    execution.refresh_from_db()
    return elapsed, execution


def _overhead(workflow, bare: list[float]) -> Result:
    from workflows.models import NodeExecution

    for n in range(3):  # warm up
        _run_one(workflow, n)
    totals, spans_ms, failed = [], [], 0
    for n in range(SEQUENTIAL):
        elapsed, execution = _run_one(workflow, n)
        if execution.status != "succeeded":
            failed += 1
            continue
        totals.append(elapsed)
        spans_ms.append(sum(NodeExecution.objects.filter(execution=execution)
                            .values_list("duration_ms", flat=True)))
    bare_ms = statistics.median(bare)
    work = _node_work_ms()
    if not totals:
        print(f"workflows (b): no execution of {workflow} succeeded", flush=True)
        return Result("workflows: engine overhead per node vs bare Celery round trip",
                      f"all {SEQUENTIAL} executions failed", float("inf"), TARGET_OVERHEAD)
    total = statistics.median(totals)
    per_node = (total - NODES * work) / NODES
    ratio = per_node / bare_ms
    figures = (f"10-node linear end to end {total:.0f} ms (p90 {_pct(totals, 0.9):.0f} ms), "
               f"spans {statistics.median(spans_ms):.0f} ms, node work {work * 1000:.0f} us "
               f"each: overhead {per_node:.1f} ms/node vs bare round trip {bare_ms:.1f} ms")
    if failed:
        figures += f"; {failed} of {SEQUENTIAL} FAILED"
        ratio = float("inf")
    print(f"workflows (b): {figures}; ratio {ratio:.2f}x (target <= {TARGET_OVERHEAD:g}x)",
          flush=True)
    return Result("workflows: engine overhead per node / bare Celery round trip", figures,
                  ratio, TARGET_OVERHEAD)


# --- (c) throughput -----------------------------------------------------------------------


def _start_many(workflow, count: int) -> tuple[list[int], float]:
    from workflows.services.executions import execution_start

    started = time.perf_counter()
    ids = [execution_start(workflow=workflow, input={"n": n}).pk for n in range(count)]
    return ids, time.perf_counter() - started


def _wait_all(ids: list[int], timeout: float) -> bool:
    from workflows.models import Execution

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = Execution.objects.filter(pk__in=ids).exclude(
            status__in=Execution.FINISHED).count()
        if not left:
            return True
        time.sleep(0.05)
    return False


def _throughput(label: str, workflow) -> None:
    from django.db.models import Max, Min

    from workflows.models import Execution

    ids, enqueue_s = _start_many(workflow, BATCH)
    done = _wait_all(ids, timeout=max(120, BATCH * 2))
    rows = Execution.objects.filter(pk__in=ids)
    span = rows.aggregate(first=Min("queued_at"), last=Max("finished_at"))
    succeeded = rows.filter(status="succeeded").count()
    seconds = (span["last"] - span["first"]).total_seconds() if span["last"] else float("inf")
    note = "" if done else " (TIMED OUT waiting)"
    print(f"workflows (c): {label}: {BATCH} executions started at once "
          f"({enqueue_s:.1f} s to start them): {BATCH / seconds:.1f} executions/s, "
          f"{BATCH * NODES / seconds:.0f} nodes/s ({seconds:.1f} s), {succeeded} of "
          f"{BATCH} succeeded{note}", flush=True)


# --- (d) concurrency limit ----------------------------------------------------------------


def _max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one moment; an end at t comes before a start at t."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda e: (e[0], e[1]))
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


def _concurrency(workflow) -> Result:
    from workflows.models import Execution

    ids, enqueue_s = _start_many(workflow, QUEUED)
    done = _wait_all(ids, timeout=max(300, QUEUED))
    close_old_connections()
    rows = list(Execution.objects.filter(pk__in=ids).order_by("queued_at", "id")
                .values_list("status", "queued_at", "started_at", "finished_at"))
    intervals = [(s, f) for _, _, s, f in rows if s and f]
    most = _max_overlap(intervals)
    starts = [s for _, _, s, _ in rows if s]
    out_of_order = sum(1 for a, b in itertools.pairwise(starts) if b < a)
    succeeded = sum(1 for status, *_ in rows if status == "succeeded")
    first_queued = min(q for _, q, _, _ in rows)
    last_finished = max((f for _, _, _, f in rows if f), default=None)
    total = (last_finished - first_queued).total_seconds() if last_finished else float("inf")
    figures = (f"{QUEUED} queued ({enqueue_s:.1f} s to queue), limit {LIMIT}: max running "
               f"{most}, total {total:.1f} s ({QUEUED / total:.1f}/s), started in queue "
               f"order: {'yes' if not out_of_order else f'no ({out_of_order} inversions)'}, "
               f"{succeeded} succeeded")
    if not done:
        figures += ", TIMED OUT waiting"
    print(f"workflows (d): {figures}", flush=True)
    ratio = most / LIMIT if succeeded == QUEUED else float("inf")
    return Result(f"workflows: {QUEUED:,} queued, concurrency limit {LIMIT} (max running / "
                  "limit)", figures, ratio, 1.0)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0

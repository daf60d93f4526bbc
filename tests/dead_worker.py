"""Real Celery workers on Redis, in processes of their own, for killing with SIGKILL.

A worker here is ``celery worker --pool solo`` started by ``app.worker_main`` in a
child process, on the test database (PostgreSQL) and the Redis of
``CELERY_BROKER_URL``, consuming a queue of this test only.  SIGKILL ends it the
way the OOM killer or a lost machine does: no task cleanup, its message left
unacknowledged in Redis, its database sessions (and advisory locks) closed by the
server.  The test process stands in for beat: it calls the reaper every ``POLL``
seconds and measures, from the rows, how long after the kill the job was requeued.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime

import pytest
from django.db import connection
from django.utils import timezone

from config.celery_app import app
from tests.celery_broker import switched_broker

HEARTBEAT = 1  # seconds, in the worker (BI_IMPORT_/REPORT_HEARTBEAT_SECONDS)
STALE = 4  # seconds without a heartbeat before the reaper takes the worker for dead
POLL = 0.25  # seconds between reaper passes (beat's REAPER_INTERVAL, shortened)

WORKER = """
import os, sys, time
import django
django.setup()
from config.celery_app import app
if os.environ.get("TEST_WORKER_HANG"):
    # Stands for a long step (a big report query): the build does not return.
    from reports import kinds
    def hang(*args, **kwargs):
        time.sleep(3600)
    kinds.build = hang
if os.environ.get("TEST_WORKER_SETUP"):
    # "module:function" run before the worker starts (e.g. registering test node types).
    import importlib
    module, _, function = os.environ["TEST_WORKER_SETUP"].partition(":")
    getattr(importlib.import_module(module), function)()
app.conf.update(task_always_eager=False, task_default_queue=sys.argv[1])
app.worker_main(["worker", "--pool=solo", "--loglevel=WARNING", "-Q", sys.argv[1],
                 "-n", sys.argv[1] + "@%h", "--without-gossip", "--without-mingle",
                 "--without-heartbeat"])
"""


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] or "postgres"
    if s["PASSWORD"]:
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Workers:
    """Starts workers on one queue of its own; stops whatever is left at the end."""

    def __init__(self, queue: str, broker_url: str, media_root):
        self.queue, self.broker_url, self.media_root = queue, broker_url, media_root
        self.processes: list[subprocess.Popen] = []

    def start(self, *, hang: bool = False, setup: str = "") -> subprocess.Popen:
        """``setup``: "module:function" the worker calls before it starts."""
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
               "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": self.broker_url,
               "MEDIA_ROOT": str(self.media_root),
               "BI_IMPORT_HEARTBEAT_SECONDS": str(HEARTBEAT),
               "REPORT_HEARTBEAT_SECONDS": str(HEARTBEAT),
               "WORKFLOW_HEARTBEAT_SECONDS": str(HEARTBEAT)}
        if hang:
            env["TEST_WORKER_HANG"] = "1"
        if setup:
            env["TEST_WORKER_SETUP"] = setup
        process = subprocess.Popen([sys.executable, "-c", WORKER, self.queue], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> datetime:
        """SIGKILL the worker; the moment it was dead."""
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        process.send_signal(signal.SIGKILL)
        process.wait()
        return timezone.now()

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()  # warm shutdown: finish nothing, ack nothing
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def redis_workers(settings):
    """A fixture's body: sends this test's tasks to Redis, on a queue of its own, for
    ``Workers`` to run (``yield from redis_workers(settings)``)."""
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if not broker_url.startswith(("redis://", "rediss://")):
        pytest.skip("needs Redis: set CELERY_BROKER_URL=redis://...")
    queue = f"dead-worker-test-{uuid.uuid4().hex[:12]}"
    with switched_broker(broker_url=broker_url, task_always_eager=False,
                         task_default_queue=queue, broker_transport_options={}):
        workers = Workers(queue, broker_url, settings.MEDIA_ROOT)
        yield workers
        workers.stop_all()
        with app.connection_for_write() as conn:  # leave nothing behind in Redis
            channel = conn.default_channel
            channel.queue_delete(queue)
            # The killed worker's message, unacknowledged: Redis would restore it in an hour.
            for tag, payload in channel.client.hgetall(channel.unacked_key).items():
                if queue.encode() in payload:
                    channel.client.hdel(channel.unacked_key, tag)
                    channel.client.zrem(channel.unacked_index_key, tag)


def wait_for(what: str, check, timeout: float = 60, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker died waiting for {what}: "
                                 + process.stderr.read().decode()[-3000:])
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def reap_until_requeued(reap, requeued, timeout: float = STALE * 5) -> int:
    """Call ``reap()`` every POLL seconds, as beat would, until ``requeued()``; the passes."""
    passes = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap()
        passes += 1
        if requeued():
            return passes
        time.sleep(POLL)
    raise AssertionError(f"not requeued within {timeout} s of the kill")


def report(kind: str, pk: int, killed_at, last_beat, requeued_at) -> None:
    """The figures, in the test log (``pytest -s``)."""
    from config.settings import base

    production = base.BI_IMPORT_STALE_SECONDS if kind == "import job" else \
        base.REPORT_STALE_SECONDS
    print(f"\n{kind} #{pk}: worker SIGKILLed; requeued "
          f"{(requeued_at - killed_at).total_seconds():.2f} s after the kill "
          f"({(requeued_at - last_beat).total_seconds():.2f} s after its last heartbeat; "
          f"here heartbeat every {HEARTBEAT} s, stale after {STALE} s, reaper every {POLL} s)."
          f" Configured: stale after {production} s, reaper every {base.REAPER_INTERVAL} s,"
          f" so requeued at most {production + base.REAPER_INTERVAL} s after the kill.")

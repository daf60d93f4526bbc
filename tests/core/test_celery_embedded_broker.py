"""`make run` with nothing installed: tasks really travel through kombu's filesystem broker."""

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery_app import app
from core.tasks import prune_audit_entries


# On SQLite the worker thread and the test share one in-memory database and
# trip over its table locks when the machine is busy; PostgreSQL has no such limit.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_task_runs_in_a_worker_over_the_filesystem_broker(filesystem_broker):
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = prune_audit_entries.delay()
        assert result.get(timeout=20) == 0
    assert result.status == "SUCCESS"

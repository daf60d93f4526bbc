"""`make run` with nothing installed: tasks really travel through kombu's filesystem broker."""

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery_app import app
from core.tasks import prune_audit_entries


@pytest.fixture
def filesystem_broker(tmp_path, monkeypatch):
    queue, processed, control = (tmp_path / name for name in ("queue", "processed", "control"))
    for folder in (queue, processed, control):
        folder.mkdir()
    changes = {
        "broker_url": "filesystem://",
        "broker_transport_options": {"data_folder_in": str(queue), "data_folder_out": str(queue),
                                     "processed_folder": str(processed),
                                     "control_folder": str(control)},
        "task_always_eager": False,
    }
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # it would win over broker_url
    saved = {key: app.conf[key] for key in changes}
    app.conf.update(changes)
    # Fresh connection and producer pools for this broker only.
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    yield queue
    app.pool.force_close_all()
    app.conf.update(saved)


# On SQLite the worker thread and the test share one in-memory database and
# trip over its table locks when the machine is busy; PostgreSQL has no such limit.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_task_runs_in_a_worker_over_the_filesystem_broker(filesystem_broker):
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = prune_audit_entries.delay()
        assert result.get(timeout=20) == 0
    assert result.status == "SUCCESS"

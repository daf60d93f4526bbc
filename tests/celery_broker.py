"""Celery's app on another broker for one test, then exactly as it was.

Celery's connection and producer pools live in kombu's registry, one per broker
URL, shared by everything in the process, and an eager task acquires a producer too.  A test that
switches brokers therefore gets pools of its own and, at the end, closes and forgets
only those: closing kombu's pools wholesale would hand the next test in the process
the app's closed producer pool ("Acquire on closed pool").
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from kombu import pools

from config.celery_app import app

_POOL_GROUPS = (pools.connections, pools.producers)


@contextmanager
def switched_broker(**changes):
    saved_conf = {key: app.conf[key] for key in changes}
    saved_pools = app._pool, app.amqp._producer_pool
    existing = {id(pool) for group in _POOL_GROUPS for pool in group.values()}
    app.conf.update(changes)
    _forget_routing()
    app._pool = app.amqp._producer_pool = None
    try:
        yield app
    finally:
        for group in _POOL_GROUPS:
            for key, pool in list(group.items()):
                if id(pool) not in existing:
                    pool.force_close_all()
                    dict.__delitem__(group, key)  # the stored key is already kombu's hash
        app._pool, app.amqp._producer_pool = saved_pools
        app.conf.update(saved_conf)
        _forget_routing()


def _forget_routing() -> None:
    """Celery caches the default queue and the routes it derives from settings."""
    for name in ("default_queue", "queues", "router"):
        app.amqp.__dict__.pop(name, None)


@pytest.fixture
def filesystem_broker(tmp_path, monkeypatch):
    """The embedded broker of ``make run``, in a folder of this test's own; its queue."""
    folders = {name: tmp_path / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # it would win over broker_url
    with switched_broker(
            broker_url="filesystem://", task_always_eager=False,
            broker_transport_options={"data_folder_in": str(folders["queue"]),
                                      "data_folder_out": str(folders["queue"]),
                                      "processed_folder": str(folders["processed"]),
                                      "control_folder": str(folders["control"])}):
        yield folders["queue"]

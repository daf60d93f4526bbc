"""Idempotency under concurrency (PostgreSQL, threads): the same batch sent by several
clients at once stores each event once, and the answers' "stored" counts add up to the
rows written (the workspace's advisory lock serialises the NOT EXISTS checks)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from analytics.models import Event
from tests.factories import ApiKeyFactory, WorkspaceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
SENDERS = 6
BATCH_URL = "/api/v1/analytics/batch/"


def event(name: str) -> dict:
    return {"event": "clicked", "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
            "distinct_id": name}


def test_identical_batches_sent_at_once_store_each_event_once():
    workspaces = [WorkspaceFactory(), WorkspaceFactory()]
    keys = [ApiKeyFactory(workspace=workspaces[n % 2], role="member").raw
            for n in range(SENDERS)]
    shared = [event(f"shared-{n}") for n in range(300)]
    barrier = threading.Barrier(SENDERS, timeout=60)

    def send(n):
        # Every sender: the shared events (in its own order, twice over for one of them)
        # plus 50 of its own, into one of two workspaces.
        own = [event(f"own-{n}-{i}") for i in range(50)]
        events = shared[n * 40:] + shared[:n * 40] + own + (shared[:10] if n == 0 else [])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {keys[n]}")
        try:
            barrier.wait()
            return client.post(BATCH_URL, {"batch": events}, format="json")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        responses = list(pool.map(send, range(SENDERS)))

    assert [r.status_code for r in responses] == [200] * SENDERS, \
        [r.content[:200] for r in responses]
    bodies = [r.json() for r in responses]
    for workspace in workspaces:
        assert Event.objects.filter(workspace=workspace).count() == 300 + 50 * SENDERS // 2
        assert Event.objects.filter(workspace=workspace).values("uuid").distinct().count() \
            == 300 + 50 * SENDERS // 2
    assert sum(b["stored"] for b in bodies) == Event.objects.count() == 2 * 300 + 50 * SENDERS
    assert sum(b["duplicates"] for b in bodies) == 300 * (SENDERS - 2) + 10

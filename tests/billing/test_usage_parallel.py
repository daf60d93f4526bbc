"""Idempotency under concurrency: the same events sent by several senders at once are
recorded once, and the senders' "accepted" counts add up to what was written
(PostgreSQL: INSERT ... ON CONFLICT DO NOTHING waits for the other transaction)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from billing.models import UsageRecord
from tests.factories import WorkspaceFactory

from .usage_support import BATCH_URL, client_for, event, service_account

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
SENDERS = 6


def test_parallel_overlapping_batches_record_each_event_once():
    workspaces = [WorkspaceFactory(), WorkspaceFactory()]
    user = service_account(*workspaces)
    clients = [client_for(user) for _ in range(SENDERS)]
    shared = [event(workspaces[n % 2], f"shared-{n}", quantity=2) for n in range(300)]
    barrier = threading.Barrier(SENDERS, timeout=60)

    def send(n):
        # Each sender: every shared event (in its own order) plus 50 of its own.
        own = [event(workspaces[0], f"own-{n}-{i}") for i in range(50)]
        events = (shared[n * 40:] + shared[:n * 40]) + own
        try:
            barrier.wait()
            return clients[n].post(BATCH_URL, {"events": events}, format="json")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        responses = list(pool.map(send, range(SENDERS)))

    assert [r.status_code for r in responses] == [200] * SENDERS, \
        [r.content[:200] for r in responses]
    bodies = [r.json() for r in responses]
    assert sum(b["accepted"] for b in bodies) == UsageRecord.objects.count() == \
        300 + 50 * SENDERS
    assert sum(b["duplicates"] for b in bodies) == 300 * (SENDERS - 1)
    assert sum(UsageRecord.objects.values_list("quantity", flat=True)) == 600 + 50 * SENDERS

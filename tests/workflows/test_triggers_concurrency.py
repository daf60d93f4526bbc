"""Deliveries that race: the same webhook delivery (one Idempotency-Key) or the same
schedule tick arriving twice at once still starts exactly one execution (PostgreSQL)."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from tests.factories.workflows import WorkflowFactory, WorkflowVersionFactory
from workflows.models import Execution, Trigger, Workflow
from workflows.services import triggers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
RACERS = 4


@pytest.fixture
def workflow():
    workflow = WorkflowFactory(status=Workflow.Status.ACTIVE, input_schema={"type": "object"})
    WorkflowVersionFactory(workspace=workflow.workspace, workflow=workflow, number=1)
    return workflow


def race(action):
    """Run ``action`` in RACERS threads released together; their results."""
    barrier = threading.Barrier(RACERS, timeout=30)

    def one(_):
        try:
            barrier.wait()
            return action()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def test_one_delivery_sent_at_once_several_times_starts_one_execution(workflow):
    hook = triggers.trigger_create(workflow=workflow, kind=Trigger.Kind.WEBHOOK)
    body = json.dumps({"order": 7}).encode()
    headers = {"X-Synapscale-Signature": triggers.signature(hook.new_secret, body),
               "Idempotency-Key": "order-7-created"}
    executions = race(lambda: triggers.webhook_receive(token=hook.webhook_token, body=body,
                                                       headers=headers))
    assert len({e.pk for e in executions}) == 1
    assert Execution.objects.count() == 1
    assert sum(e.created_now for e in executions) == 1


def test_one_tick_delivered_at_once_several_times_starts_one_execution(workflow):
    trigger = triggers.trigger_create(workflow=workflow, kind=Trigger.Kind.SCHEDULE,
                                      config={"cron": "*/5 * * * *", "timezone": "UTC"})
    tick = datetime(2025, 4, 1, 7, 5, 3, tzinfo=UTC)
    executions = race(lambda: triggers.trigger_fire_schedule(trigger.pk, tick))
    assert {e.pk for e in executions} == {Execution.objects.get().pk}
    assert Execution.objects.get().slot == tick - timedelta(seconds=3)

"""Issue 13: a workspace over its plan's executions per month cannot start another
execution through any door — API, admin, schedule, webhook — and raising the plan lifts
the limit at once.  Each door: one execution allowed, the next refused (402 / a message /
a logged refusal), none created nor counted, then allowed after the plan changes."""

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from rest_framework.test import APIClient

from billing.models import Subscription, UsageRecord
from tests.billing.entitlements_support import plan_with, set_limit, subscribe
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.factories.workflows import WorkflowFactory, WorkflowVersionFactory
from workflows import trigger_tasks
from workflows.models import Execution, Trigger, Workflow
from workflows.services import triggers

pytestmark = pytest.mark.django_db
SLOT = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def workflow():
    workflow = WorkflowFactory(workspace=WorkspaceFactory(), status=Workflow.Status.ACTIVE,
                               input_schema={"type": "object"})
    WorkflowVersionFactory(workspace=workflow.workspace, workflow=workflow, number=1)
    return workflow


@pytest.fixture
def plan(workflow, features):
    """One execution a month; the workspace subscribes to it."""
    plan = plan_with(features, executions_per_month=1)
    subscribe(workflow.workspace, plan)
    return plan


def counted(workflow) -> tuple[int, int]:
    """(executions, execution usage records) of the workflow's workspace."""
    return (Execution.objects.filter(workflow=workflow).count(),
            UsageRecord.objects.filter(workspace=workflow.workspace_id,
                                       metric="executions").count())


def upgrade(workflow, features):
    """Switch the subscription to a bigger plan (what the subscription service does)."""
    Subscription.objects.filter(workspace=workflow.workspace).update(
        plan=plan_with(features, executions_per_month=10))


# --- API ------------------------------------------------------------------------------------


def test_api_execute(workflow, plan):
    client = APIClient()
    client.force_login(MembershipFactory(workspace=workflow.workspace, role="member").user)
    url = f"/api/v1/workflows/{workflow.pk}/execute/"
    assert client.post(url, {"input": {}}, format="json").status_code == 202
    response = client.post(url, {"input": {}}, format="json")
    assert response.status_code == 402, response.content
    body = response.json()
    assert body["code"] == "limit_reached"
    assert {k: body["errors"][k] for k in ("feature", "limit", "used", "requested")} == {
        "feature": "executions_per_month", "limit": 1, "used": 1, "requested": 1}
    assert body["errors"]["resets_at"]
    assert "executions_per_month" in body["message"] and "resets at" in body["message"]
    assert counted(workflow) == (1, 1)
    set_limit(plan, "executions_per_month", 2)  # raising the plan's value
    assert client.post(url, {"input": {}}, format="json").status_code == 202
    assert counted(workflow) == (2, 2)


# --- admin ----------------------------------------------------------------------------------


def test_admin_run(client, workflow, plan, features):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:workflows_workflow_run", args=[workflow.pk])
    assert client.post(url, {"input": "{}"}).status_code == 302
    response = client.post(url, {"input": "{}"}, follow=True)
    assert response.status_code == 200
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("was not started" in m and "Plan limit reached" in m
               and "executions_per_month" in m for m in messages), messages
    assert counted(workflow) == (1, 1)
    upgrade(workflow, features)  # a plan switch
    assert client.post(url, {"input": "{}"}).status_code == 302
    assert counted(workflow) == (2, 2)


def test_admin_run_now_action(client, workflow, plan):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    changelist = reverse("admin:workflows_workflow_changelist")
    action = {"action": "run_now", "_selected_action": [workflow.pk]}
    client.post(changelist, action)
    response = client.post(changelist, action, follow=True)
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Plan limit reached" in m for m in messages), messages
    assert counted(workflow) == (1, 1)


# --- schedule -------------------------------------------------------------------------------


def test_schedule_tick(workflow, plan, caplog):
    trigger = triggers.trigger_create(workflow=workflow, kind=Trigger.Kind.SCHEDULE,
                                      config={"cron": "0 2 * * *", "timezone": "UTC"})
    first = trigger_tasks.fire_schedule.run(trigger_id=trigger.pk, tick_at=SLOT.isoformat())
    assert first["status"] != "ignored"
    tomorrow = (SLOT + timedelta(days=1)).isoformat()
    with caplog.at_level(logging.WARNING, logger="workflows.services.triggers"):
        refused = trigger_tasks.fire_schedule.run(trigger_id=trigger.pk, tick_at=tomorrow)
    assert refused == {"trigger": trigger.pk, "status": "ignored"}  # no crash, no retry
    assert any("Plan limit reached" in r.getMessage() for r in caplog.records)
    assert counted(workflow) == (1, 1)
    set_limit(plan, "executions_per_month", 2)
    again = trigger_tasks.fire_schedule.run(trigger_id=trigger.pk, tick_at=tomorrow)
    assert again["status"] != "ignored"
    assert counted(workflow) == (2, 2)


def test_a_duplicated_tick_is_not_counted_twice(workflow, plan):
    trigger = triggers.trigger_create(workflow=workflow, kind=Trigger.Kind.SCHEDULE,
                                      config={"cron": "0 2 * * *", "timezone": "UTC"})
    first = trigger_tasks.fire_schedule.run(trigger_id=trigger.pk, tick_at=SLOT.isoformat())
    again = trigger_tasks.fire_schedule.run(trigger_id=trigger.pk,
                                            tick_at=(SLOT + timedelta(minutes=2)).isoformat())
    assert again["execution"] == first["execution"]  # the slot's execution, found again
    assert counted(workflow) == (1, 1)


# --- webhook --------------------------------------------------------------------------------


def deliver(trigger, data, key=""):
    body = json.dumps(data).encode()
    signature = "sha256=" + hmac.new(trigger.new_secret.encode(), body,
                                     hashlib.sha256).hexdigest()
    headers = {"HTTP_X_SYNAPSCALE_SIGNATURE": signature}
    if key:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return APIClient().generic("POST", f"/api/v1/hooks/workflows/{trigger.webhook_token}/",
                               body, content_type="application/json", **headers)


def test_webhook_trigger(workflow, plan, features):
    hook = triggers.trigger_create(workflow=workflow, kind=Trigger.Kind.WEBHOOK)
    assert deliver(hook, {"n": 1}).status_code == 202
    response = deliver(hook, {"n": 2})
    assert response.status_code == 402, response.content
    assert response.json()["code"] == "limit_reached"
    assert response.json()["errors"]["feature"] == "executions_per_month"
    assert counted(workflow) == (1, 1)
    upgrade(workflow, features)
    assert deliver(hook, {"n": 2}).status_code == 202
    assert counted(workflow) == (2, 2)


def test_a_redelivered_webhook_returns_its_execution_even_at_the_limit(workflow, plan):
    hook = triggers.trigger_create(workflow=workflow, kind=Trigger.Kind.WEBHOOK)
    first = deliver(hook, {"n": 1}, key="order-7")
    again = deliver(hook, {"n": 1}, key="order-7")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["execution"] == first.json()["execution"]
    assert counted(workflow) == (1, 1)


# --- without billing ------------------------------------------------------------------------


def test_without_a_plan_executions_are_unlimited_and_metered(workflow):
    client = APIClient()
    client.force_login(MembershipFactory(workspace=workflow.workspace, role="member").user)
    for _ in range(3):
        response = client.post(f"/api/v1/workflows/{workflow.pk}/execute/", {"input": {}},
                               format="json")
        assert response.status_code == 202
    execution_ids = set(Execution.objects.filter(workflow=workflow).values_list("pk",
                                                                                flat=True))
    assert {r.transaction_id for r in UsageRecord.objects.filter(
        workspace=workflow.workspace_id)} == {f"execution:{pk}" for pk in execution_ids}

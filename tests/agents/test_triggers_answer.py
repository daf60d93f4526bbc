"""A trigger's conversation is answered by the agent (the fake LLM server standing in for
the provider) on a worker, once however often the task is delivered."""

import json
from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from agents.models import AgentConfiguration, AgentErrorLog, AgentTrigger, Conversation, Message
from agents.services import triggers
from agents.tasks import triggers as trigger_tasks
from tests.factories.agents import AgentConfigurationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def server(llm_server):
    return llm_server


@pytest.fixture
def agent(make_llm_model):
    model = make_llm_model()
    configuration = AgentConfigurationFactory(workspace=model.workspace, model=model,
                                              agent__workspace=model.workspace)
    AgentConfiguration.objects.filter(pk=configuration.pk).update(
        status=AgentConfiguration.Status.PUBLISHED, number=1)
    agent = configuration.agent
    agent.live_configuration = configuration
    agent.save()
    return agent


def test_a_webhook_delivery_is_answered_once(agent, server, django_capture_on_commit_callbacks):
    hook = triggers.trigger_create(agent=agent, kind=AgentTrigger.Kind.WEBHOOK)
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().generic(
            "POST", f"/api/v1/hooks/agents/{hook.webhook_token}/",
            json.dumps({"message": "Is order 1042 shipped?"}), content_type="application/json")
    assert response.status_code == 202, response.content
    conversation = Conversation.objects.get(pk=response.json()["conversation"])
    assert list(conversation.messages.values_list("role", "content")) == [
        ("user", "Is order 1042 shipped?"),
        ("assistant", "Fake LLM reply: Is order 1042 shipped?")]
    assert conversation.user is None and conversation.channel == "webhook"

    # A second delivery of the same task (acks_late redelivery) answers nothing again.
    trigger_tasks.answer(conversation.pk, "Is order 1042 shipped?")
    assert conversation.messages.count() == 2 and len(server.requests) == 1


def test_a_schedule_tick_is_answered_and_a_failure_is_recorded(agent, server,
                                                               django_capture_on_commit_callbacks):
    trigger = triggers.trigger_create(agent=agent, kind=AgentTrigger.Kind.SCHEDULE,
                                      config={"cron": "0 8 * * *", "message": "Daily digest"})
    server.script([{"status": 500}])
    with django_capture_on_commit_callbacks(execute=True):
        result = trigger_tasks.fire_schedule(trigger.pk, tick_at=datetime(
            2026, 3, 2, 8, 0, 2, tzinfo=UTC).isoformat())
    conversation = Conversation.objects.get(pk=result["conversation"])
    assert conversation.channel == "schedule"
    # The provider failed: the conversation keeps the question, the agent's error log says why.
    assert conversation.messages.filter(role=Message.Role.USER).count() == 1
    assert not conversation.messages.filter(role=Message.Role.ASSISTANT, error="").exists()
    assert AgentErrorLog.objects.filter(agent=agent, kind="provider").exists()

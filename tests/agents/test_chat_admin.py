"""The admin's test chat: a turn through chat.run_turn on channel "admin", against the
live version or a draft, shown as a transcript; errors become admin messages."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from agents.models import Conversation, Message
from tests.agents.chat_support import agent, chat_model, fail, text
from tests.factories import AgentConfigurationFactory, MembershipFactory, UserFactory

FIXTURES = (agent, chat_model)  # used by name as test arguments
pytestmark = pytest.mark.django_db


def chat_url(agent) -> str:
    return reverse("admin:agents_agent_chat", args=[agent.pk])


@pytest.fixture
def staff(client, agent):
    user = UserFactory(is_staff=True)
    MembershipFactory(workspace=agent.workspace, user=user, role="admin")
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="agents", codename__in=["view_agent", "change_agent"]))
    client.force_login(user)
    return user


def test_the_test_chat_answers_and_shows_the_transcript(client, staff, agent, llm_server):
    llm_server.script([text("Hi from the <b>agent</b>")])
    page = client.get(chat_url(agent))
    assert page.status_code == 200 and b"Send" in page.content
    answer = client.post(chat_url(agent), {"message": "Hello admin"})
    assert answer.status_code == 200
    conversation = Conversation.objects.get()
    assert conversation.channel == "admin" and conversation.user_id == staff.pk
    html = answer.content.decode()
    assert "Hello admin" in html and "Hi from the &lt;b&gt;agent&lt;/b&gt;" in html
    client.post(chat_url(agent), {"message": "Again", "conversation": conversation.pk})
    assert Conversation.objects.count() == 1 and Message.objects.count() == 4


def test_a_draft_is_tried_from_the_test_chat(client, staff, agent, llm_server):
    draft = AgentConfigurationFactory(workspace=agent.workspace, agent=agent,
                                      model=agent.live_configuration.model)
    client.post(chat_url(agent), {"message": "Hello", "configuration": draft.pk})
    assert Conversation.objects.get().configuration_id == draft.pk


def test_a_provider_failure_is_an_admin_message_not_a_500(client, staff, agent, llm_server):
    llm_server.script([fail(500)])
    response = client.post(chat_url(agent), {"message": "Hello"})
    assert response.status_code == 200
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("provider failed" in m for m in said)
    assert Message.objects.filter(finish_reason="error").exists()


def test_another_workspaces_agent_is_a_404(client, staff, chat_model, llm_server):
    from tests.agents.chat_support import live_agent
    from tests.factories import LLMModelFactory

    stranger = live_agent(LLMModelFactory())
    assert client.get(chat_url(stranger)).status_code == 404

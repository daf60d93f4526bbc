"""POST /api/v1/agents/{id}/chat/: JSON and server-sent events, tenancy and access at
the door, API keys, and provider failures answered as structured errors (never 500)."""

import json

import pytest
from django.urls import include, path
from rest_framework.test import APIClient

from agents.api import chat as chat_api
from agents.models import AgentErrorLog, Conversation, LLMUsageLog, Message
from tests.agents.chat_support import (
    agent,
    chat_model,
    fail,
    live_agent,
    malformed,
    text,
    timeout,
    tool_call,
)
from tests.agents.conftest import TEST_API_KEY
from tests.contract.isolation import key_client
from tests.factories.agents import AgentAccessFactory, AgentFactory
from tests.factories.workspaces import ApiKeyFactory, MembershipFactory

# The chat view's own routes, until agents/api/urls.py includes them for the project.
urlpatterns = [path("api/v1/", include(chat_api.urlpatterns))]

FIXTURES = (agent, chat_model)  # used by name as test arguments
pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def client_for(workspace, role="member") -> APIClient:
    client = APIClient()
    client.force_login(MembershipFactory(workspace=workspace, role=role).user)
    return client


def url(agent) -> str:
    return f"/api/v1/agents/{agent.pk}/chat/"


def sse_events(response) -> list[tuple[str, dict]]:
    raw = b"".join(response.streaming_content).decode()
    found = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines()
                     if not line.startswith(":"))
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_a_member_chats_and_gets_the_reply_usage_and_cost(agent, llm_server):
    response = client_for(agent.workspace).post(url(agent), {"message": "Hello"},
                                                format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    log = LLMUsageLog.objects.get()
    assert body["conversation"] == log.conversation_id
    assert body["reply"]["role"] == "assistant" and body["reply"]["content"]
    assert body["output"] == body["reply"]["content"]
    assert body["usage"] == {"tokens_in": log.tokens_in, "tokens_out": log.tokens_out,
                             "cost": str(log.cost), "currency": "USD"}
    assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
    again = client_for(agent.workspace).post(
        url(agent), {"message": "More", "conversation": body["conversation"]}, format="json")
    assert again.json()["conversation"] == body["conversation"]
    assert Message.objects.count() == 4


@pytest.mark.django_db(transaction=True)  # the stream answers from its own thread
def test_streaming_sends_tokens_tool_events_then_done(agent, llm_server):
    llm_server.script([tool_call("missing_tool", {}), text("Streamed answer here")])
    response = client_for(agent.workspace).post(url(agent), {"message": "Hi", "stream": True},
                                                format="json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    found = sse_events(response)
    names = [name for name, _ in found]
    assert names[-1] == "done"
    assert "tool_call" in names and "tool_result" in names
    tokens = "".join(data["text"] for name, data in found if name == "token")
    assert tokens.strip() == "Streamed answer here"
    done = found[-1][1]
    assert done["reply"]["content"] == "Streamed answer here"
    assert Conversation.objects.get().pk == done["conversation"]


@pytest.mark.django_db(transaction=True)  # the stream answers from its own thread
def test_a_streamed_failure_ends_with_an_error_event(agent, llm_server):
    llm_server.script([fail(500)])
    response = client_for(agent.workspace).post(url(agent), {"message": "Hi", "stream": True},
                                                format="json")
    name, data = sse_events(response)[-1]
    assert name == "error"
    assert (data["status"], data["code"]) == (502, "provider_error")


def test_another_workspaces_agent_is_a_404(agent, llm_server):
    stranger = client_for(AgentFactory().workspace)
    response = stranger.post(url(agent), {"message": "Hi"}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert not Conversation.objects.exists()


def test_another_agents_conversation_is_a_404(agent, chat_model, llm_server):
    other = live_agent(chat_model)
    client = client_for(agent.workspace)
    first = client.post(url(other), {"message": "Hi"}, format="json").json()
    response = client.post(url(agent), {"message": "Hi", "conversation": first["conversation"]},
                           format="json")
    assert response.status_code == 404


def test_a_viewer_needs_a_grant(agent, llm_server):
    viewer = MembershipFactory(workspace=agent.workspace, role="viewer").user
    client = APIClient()
    client.force_login(viewer)
    refused = client.post(url(agent), {"message": "Hi"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "agent_access_denied"
    AgentAccessFactory(workspace=agent.workspace, agent=agent, user=viewer)
    assert client.post(url(agent), {"message": "Hi"}, format="json").status_code == 200


def test_an_api_key_of_the_workspace_may_chat(agent, llm_server):
    key = key_client(ApiKeyFactory(workspace=agent.workspace, role="member").raw)
    response = key.post(url(agent), {"message": "Hi"}, format="json")
    assert response.status_code == 200
    assert Conversation.objects.get().user_id is None
    assert APIClient().post(url(agent), {"message": "Hi"}, format="json").status_code == 401


@pytest.mark.parametrize("body", [{}, {"message": "   "}, {"message": "x", "conversation": "a"},
                                  {"message": "x" * 32_001}, {"message": ["x"]}])
def test_bad_bodies_are_400_with_the_field(agent, body, llm_server):
    response = client_for(agent.workspace).post(url(agent), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and response.json()["errors"]


@pytest.mark.parametrize(("script", "status", "code"), [
    ([fail(429)], 502, "provider_error"),
    ([fail(500)], 502, "provider_error"),
    ([timeout()], 504, "provider_timeout"),
    ([malformed()], 502, "provider_error"),
])
def test_provider_failures_are_recorded_and_answered_with_a_code(agent, llm_server, script,
                                                                 status, code):
    llm_server.script(script)
    response = client_for(agent.workspace).post(url(agent), {"message": "Hi"}, format="json")
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code and body["message"]
    conversation = Conversation.objects.get(pk=body["errors"]["conversation"])
    assert conversation.messages.order_by("sequence").last().finish_reason == "error"
    assert AgentErrorLog.objects.filter(conversation=conversation, kind="provider").exists()


def test_the_provider_key_is_not_in_any_answer(agent, llm_server):
    key = TEST_API_KEY
    client = client_for(agent.workspace)
    ok = client.post(url(agent), {"message": "Hi"}, format="json")
    llm_server.api_key = "sk-the-right-one"  # the server now echoes the key it was sent
    failed = client.post(url(agent), {"message": "Hi"}, format="json")
    assert failed.status_code == 502
    assert key not in ok.content.decode() and key not in failed.content.decode()

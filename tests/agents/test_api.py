"""The agents API: versions (publish, duplicate, roll back), the edit rule over the API,
conversations and feedback, and providers that never show a key."""

import pytest
from rest_framework.test import APIClient

from agents.models import AgentConfiguration, AgentTool, Conversation
from tests.factories import (
    AgentAccessFactory,
    AgentConfigurationFactory,
    AgentFactory,
    LLMProviderFactory,
    MembershipFactory,
    MessageFactory,
    UserFactory,
    WorkflowFactory,
)

pytestmark = pytest.mark.django_db
API = "/api/v1/agents/"


def client_for(workspace, role):
    user = UserFactory()
    MembershipFactory(workspace=workspace, user=user, role=role)
    client = APIClient()
    client.force_login(user)
    client.user = user
    return client


def test_publish_duplicate_and_rollback_through_the_api():
    configuration = AgentConfigurationFactory()
    agent, workspace = configuration.agent, configuration.workspace
    member = client_for(workspace, "member")

    first = member.post(f"{API}configurations/{configuration.pk}/publish/", {"note": "v1"},
                        format="json")
    assert first.status_code == 200, first.content
    assert (first.json()["number"], first.json()["status"]) == (1, "published")
    again = member.post(f"{API}configurations/{configuration.pk}/publish/", {}, format="json")
    assert again.status_code == 400
    frozen = member.patch(f"{API}configurations/{configuration.pk}/", {"note": "x"},
                          format="json")
    assert frozen.status_code == 400

    draft = member.post(f"{API}configurations/{configuration.pk}/duplicate/", format="json")
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    member.post(f"{API}configurations/{draft.json()['id']}/publish/", {}, format="json")
    assert member.get(f"{API}{agent.pk}/").json()["live_configuration"] == draft.json()["id"]

    back = member.post(f"{API}{agent.pk}/rollback/", {}, format="json")
    assert back.status_code == 200 and back.json()["live_configuration"] == configuration.pk
    missing = member.post(f"{API}{agent.pk}/rollback/", {"version": 9}, format="json")
    assert missing.status_code == 400 and "version" in missing.json()["errors"]


def test_viewer_with_edit_grant_may_edit_and_restricted_agents_refuse_members():
    agent = AgentFactory()
    workspace = agent.workspace
    viewer, member = client_for(workspace, "viewer"), client_for(workspace, "member")
    tool = {"workspace": workspace.pk, "agent": agent.pk, "name": "lookup", "kind": "workflow",
            "description": "Looks up", "workflow": WorkflowFactory(workspace=workspace).pk}
    assert viewer.post(f"{API}tools/", tool, format="json").status_code == 403
    AgentAccessFactory(agent=agent, workspace=workspace, user=viewer.user, access="edit")
    created = viewer.post(f"{API}tools/", tool, format="json")
    assert created.status_code == 201, created.content
    assert viewer.patch(f"{API}{agent.pk}/", {"description": "Mine"},
                        format="json").status_code == 200

    agent.access_mode = agent.AccessMode.RESTRICTED
    agent.save()
    refused = member.patch(f"{API}{agent.pk}/", {"description": "No"}, format="json")
    assert refused.status_code == 403
    assert member.delete(f"{API}tools/{created.json()['id']}/").status_code == 403
    assert AgentTool.objects.filter(pk=created.json()["id"]).exists()


def test_conversations_feedback_and_read_only_messages():
    agent = AgentFactory()
    workspace = agent.workspace
    member, other = client_for(workspace, "member"), client_for(workspace, "viewer")
    opened = member.post(f"{API}conversations/", {"workspace": workspace.pk, "agent": agent.pk,
                                                  "title": "Orders"}, format="json")
    assert opened.status_code == 201, opened.content
    conversation = Conversation.objects.get(pk=opened.json()["id"])
    assert conversation.user == member.user and conversation.channel == "api"
    closed = member.patch(f"{API}conversations/{conversation.pk}/", {"status": "closed"},
                          format="json")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert other.patch(f"{API}conversations/{conversation.pk}/", {"title": "x"},
                       format="json").status_code == 403

    message = MessageFactory(conversation=conversation, workspace=workspace)
    assert member.post(f"{API}messages/", {}, format="json").status_code == 405
    assert member.delete(f"{API}messages/{message.pk}/").status_code == 405
    rating = {"workspace": workspace.pk, "message": message.pk, "rating": 1, "comment": "Good"}
    first = member.post(f"{API}feedback/", rating, format="json")
    assert first.status_code == 201 and first.json()["by"] == member.user.pk
    twice = member.post(f"{API}feedback/", rating, format="json")
    assert twice.status_code == 400 and "message" in twice.json()["errors"]
    assert member.delete(f"{API}conversations/{conversation.pk}/").status_code == 204


def test_provider_shows_the_secret_id_never_the_key():
    provider = LLMProviderFactory()
    admin = client_for(provider.workspace, "admin")
    body = admin.get(f"{API}providers/{provider.pk}/").json()
    assert body["api_key_secret"] == provider.api_key_secret_id
    assert "ciphertext" not in str(body) and provider.api_key_secret.name not in str(body)
    assert client_for(provider.workspace, "member").patch(
        f"{API}providers/{provider.pk}/", {"name": "x"}, format="json").status_code == 403


def test_configuration_refuses_tools_of_another_agent():
    configuration = AgentConfigurationFactory()
    foreign = AgentTool.objects.create(
        workspace=configuration.workspace, agent=AgentFactory(workspace=configuration.workspace),
        name="other", description="x", kind="workflow",
        workflow=WorkflowFactory(workspace=configuration.workspace))
    member = client_for(configuration.workspace, "member")
    response = member.patch(f"{API}configurations/{configuration.pk}/", {"tools": [foreign.pk]},
                            format="json")
    assert response.status_code == 400 and "tools" in response.json()["errors"]
    assert not AgentConfiguration.objects.get(pk=configuration.pk).tools.exists()

"""Agents in the back office: versions published, made live and rolled back through the
admin's actions, with the same edit rule (role and grants) as the API."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from agents.models import Agent, AgentConfiguration
from agents.services import agents as services
from tests.factories import (
    AgentAccessFactory,
    AgentConfigurationFactory,
    AgentFactory,
    MembershipFactory,
    UserFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db
Published = AgentConfiguration.Status.PUBLISHED


def url(name: str, *args) -> str:
    return reverse(f"admin:agents_{name}", args=args)


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def workspace():
    return WorkspaceFactory()


def staff_with(client, workspace, role: str):
    user = UserFactory(is_staff=True)
    MembershipFactory(workspace=workspace, user=user, role=role)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="agents"))
    client.force_login(user)
    return user


@pytest.fixture
def agent(workspace):
    return AgentFactory(workspace=workspace, name="Support")


def act(client, model: str, action: str, *objects):
    return client.post(url(f"{model}_changelist"),
                       {"action": action, "_selected_action": [o.pk for o in objects]},
                       follow=True)


def test_publishing_a_draft_numbers_it_and_makes_it_live(client, workspace, agent):
    staff_with(client, workspace, "member")
    draft = AgentConfigurationFactory(workspace=workspace, agent=agent)

    response = act(client, "agentconfiguration", "publish", draft)

    draft.refresh_from_db()
    agent.refresh_from_db()
    assert (draft.status, draft.number) == (Published, 1)
    assert agent.live_configuration == draft
    assert "Support now answers with v1." in said(response)


def test_roll_back_makes_the_previous_version_live(client, workspace, agent):
    user = staff_with(client, workspace, "member")
    first = services.configuration_publish(
        AgentConfigurationFactory(workspace=workspace, agent=agent), by=user)
    second = services.configuration_publish(
        AgentConfigurationFactory(workspace=workspace, agent=agent, model=first.model),
        by=user)
    assert Agent.objects.get(pk=agent.pk).live_configuration == second

    response = act(client, "agent", "roll_back", agent)

    assert Agent.objects.get(pk=agent.pk).live_configuration == first
    assert "Support now answers with v1." in said(response)


def test_a_published_version_cannot_be_edited_in_the_admin(client, workspace, agent):
    user = staff_with(client, workspace, "admin")
    version = services.configuration_publish(
        AgentConfigurationFactory(workspace=workspace, agent=agent, system_prompt="Be brief."),
        by=user)

    client.post(url("agentconfiguration_change", version.pk),
                {"system_prompt": "Be rude.", "model": version.model_id,
                 "temperature": "0.5", "max_tokens": 100, "max_steps": 2})

    version.refresh_from_db()
    assert version.system_prompt == "Be brief."


def test_a_viewer_cannot_publish_and_the_admin_says_why(client, workspace, agent):
    staff_with(client, workspace, "viewer")
    draft = AgentConfigurationFactory(workspace=workspace, agent=agent)

    act(client, "agentconfiguration", "publish", draft)

    draft.refresh_from_db()
    assert draft.status == AgentConfiguration.Status.DRAFT
    assert Agent.objects.get(pk=agent.pk).live_configuration is None


def test_a_restricted_agent_is_published_only_by_those_granted_edit(client, workspace):
    agent = AgentFactory(workspace=workspace, access_mode=Agent.AccessMode.RESTRICTED)
    member = staff_with(client, workspace, "member")
    draft = AgentConfigurationFactory(workspace=workspace, agent=agent)

    act(client, "agentconfiguration", "publish", draft)
    draft.refresh_from_db()
    assert draft.status == AgentConfiguration.Status.DRAFT

    AgentAccessFactory(workspace=workspace, agent=agent, user=member, access="edit")
    act(client, "agentconfiguration", "publish", draft)
    draft.refresh_from_db()
    assert draft.status == Published


def test_another_workspaces_agent_is_absent_from_the_admin(client, workspace):
    staff_with(client, workspace, "admin")
    elsewhere = AgentFactory()

    assert client.get(url("agent_change", elsewhere.pk)).status_code == 404
    assert client.get(url("agent_chat", elsewhere.pk)).status_code == 404

"""Agent versions: drafts copy everything, publish numbers and freezes, roll back makes an
earlier version live; the edit rule (can_edit) holds in the services."""

import pytest
from django.core.exceptions import ValidationError

from agents.models import AgentConfiguration, AgentKnowledgeBase, AgentModel
from agents.services import agents as services
from core import tenancy
from core.api.errors import ApiError
from tests.factories import (
    AgentAccessFactory,
    AgentConfigurationFactory,
    AgentFactory,
    AgentKnowledgeBaseFactory,
    AgentModelFactory,
    AgentToolFactory,
    LLMModelFactory,
    MembershipFactory,
    UserFactory,
)
from workspaces.models import Activity

pytestmark = pytest.mark.django_db
PUBLISHED = AgentConfiguration.Status.PUBLISHED


def principal(user):
    return tenancy.Principal(user=user)


def member_of(workspace, role):
    user = UserFactory()
    MembershipFactory(workspace=workspace, user=user, role=role)
    return user


def test_publish_numbers_freezes_and_makes_live():
    first = AgentConfigurationFactory()
    agent = first.agent
    services.configuration_publish(first, note="First")
    second = AgentConfigurationFactory(agent=agent, workspace=agent.workspace,
                                       model=first.model)
    published = services.configuration_publish(second)
    agent.refresh_from_db()
    first.refresh_from_db()
    assert (first.number, first.status, first.note) == (1, PUBLISHED, "First")
    assert (published.number, published.status) == (2, PUBLISHED)
    assert published.published_at is not None
    assert agent.live_configuration == published
    assert Activity.objects.filter(verb="agent.published", workspace=agent.workspace).count() == 2
    with pytest.raises(ValidationError):
        services.configuration_publish(published)
    with pytest.raises(ValidationError):
        services.configuration_update(published, system_prompt="changed")
    with pytest.raises(ValidationError):
        services.configuration_delete(published)


def test_new_draft_copies_tools_knowledge_links_and_fallbacks():
    source = AgentConfigurationFactory()
    tool = AgentToolFactory(agent=source.agent, workspace=source.workspace)
    source.tools.set([tool])
    AgentKnowledgeBaseFactory(configuration=source, workspace=source.workspace, top_k=7)
    fallback = AgentModelFactory(configuration=source, workspace=source.workspace, position=2)
    services.configuration_publish(source)

    draft = services.configuration_new_draft(source.agent)
    assert draft.status == AgentConfiguration.Status.DRAFT and draft.number == 0
    assert draft.system_prompt == source.system_prompt and draft.model == source.model
    assert list(draft.tools.all()) == [tool]
    links = AgentKnowledgeBase.objects.filter(configuration=draft)
    assert [(link.knowledge_base_id, link.top_k) for link in links] == \
        [(source.knowledge.get().knowledge_base_id, 7)]
    assert [(f.model_id, f.position) for f in AgentModel.objects.filter(configuration=draft)] \
        == [(fallback.model_id, 2)]
    # The copy is a draft: it may change while the published source stays as it was.
    services.configuration_update(draft, system_prompt="Friendlier")
    source.refresh_from_db()
    assert source.system_prompt != "Friendlier"


def test_new_draft_needs_a_version_to_start_from():
    with pytest.raises(ValidationError):
        services.configuration_new_draft(AgentFactory())


def test_rollback_makes_an_earlier_published_version_live():
    first = AgentConfigurationFactory()
    agent = first.agent
    services.configuration_publish(first)
    second = services.configuration_publish(services.configuration_new_draft(agent))
    assert services.configuration_rollback(agent, first).live_configuration == first
    agent.refresh_from_db()
    assert agent.live_configuration == first
    assert Activity.objects.filter(verb="agent.rolled_back").exists()
    draft = services.configuration_new_draft(agent, second)
    with pytest.raises(ValidationError):
        services.configuration_rollback(agent, draft)  # never published
    other = AgentConfigurationFactory()
    services.configuration_publish(other)
    with pytest.raises(ValidationError):
        services.configuration_rollback(agent, other)  # another agent's


def test_agent_update_never_writes_back_a_stale_live_version():
    configuration = AgentConfigurationFactory()
    stale = type(configuration.agent).objects.get(pk=configuration.agent_id)
    services.configuration_publish(configuration)
    services.agent_update(stale, description="Changed elsewhere")
    stale.refresh_from_db()
    assert stale.live_configuration == configuration


def test_edit_rule_viewer_with_edit_grant_may_and_restricted_agent_refuses_members():
    configuration = AgentConfigurationFactory()
    agent, workspace = configuration.agent, configuration.workspace
    viewer, member = member_of(workspace, "viewer"), member_of(workspace, "member")
    with pytest.raises(ApiError) as refused:
        services.configuration_publish(configuration, principal=principal(viewer))
    assert refused.value.status_code == 403
    AgentAccessFactory(agent=agent, workspace=workspace, user=viewer, access="edit")
    services.configuration_publish(configuration, principal=principal(viewer))
    services.part_create(type(AgentToolFactory.build()), principal=principal(viewer),
                         agent=agent, name="by_viewer", description="x", kind="workflow",
                         workflow=AgentToolFactory(agent=agent, workspace=workspace).workflow)

    agent.access_mode = agent.AccessMode.RESTRICTED
    agent.save()
    with pytest.raises(ApiError):
        services.agent_update(agent, principal=principal(member), description="no")
    services.agent_update(agent, principal=principal(viewer), description="granted")


def test_fallbacks_of_a_published_version_are_frozen():
    configuration = AgentConfigurationFactory()
    fallback = AgentModelFactory(configuration=configuration, workspace=configuration.workspace)
    services.configuration_publish(configuration)
    with pytest.raises(ValidationError):
        services.part_delete(fallback)
    with pytest.raises(ValidationError):
        services.part_create(AgentModel, configuration=configuration,
                             model=LLMModelFactory(workspace=configuration.workspace))

"""Agents and their versions: create, change and delete agents and what hangs off them
(tools, quotas, knowledge links, fallbacks, delegation, access), new drafts, publish and
roll back.

Every door (API, admin) comes through here, so the access rule is checked once:
``may_write``.  Changes to an agent and its parts need ``queries.can_edit`` (the
workspace role that may change agents, or an edit grant — a viewer with an edit grant
may edit; restricted agents only admins and grantees); quotas and access grants also
need the model's own role (admin).  ``principal=None`` is the system acting (already
authorised).  Changed rows reach the audit trail through the model signals; publish and
roll back are recorded as workspace activity too.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from billing import entitlements
from core import tenancy
from core.api.errors import ApiError

from .. import queries
from ..models import (
    Agent,
    AgentAccess,
    AgentConfiguration,
    AgentHierarchy,
    AgentKnowledgeBase,
    AgentModel,
    AgentQuota,
    AgentTool,
)

Status = AgentConfiguration.Status
#: Fields a new draft copies from the version it starts from.
CONFIGURATION_FIELDS = ("system_prompt", "model", "temperature", "max_tokens", "max_steps",
                        "response_format")
#: Models whose writes also need the workspace role the model declares (admin).
ROLE_GUARDED = (AgentAccess, AgentQuota)


def _user(by):
    return by if getattr(by, "pk", None) else None


def _activity(agent: Agent, by, verb: str, summary: str, target=None, **data) -> None:
    from workspaces.services.workspaces import activity_record

    activity_record(workspace=agent.workspace, actor=_user(by), verb=verb, summary=summary,
                    target=target or agent, data=data)


def _save(obj) -> None:
    obj.full_clean()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # a race past full_clean's uniqueness check
        raise ValidationError(f"This {obj._meta.verbose_name} clashes with an existing one.") \
            from exc


# --- the access rule ----------------------------------------------------------------------


def agent_of(obj) -> Agent | None:
    """The agent whose edit rule governs ``obj`` (None: a workspace-wide quota)."""
    if isinstance(obj, Agent):
        return obj
    if isinstance(obj, AgentModel | AgentKnowledgeBase):
        return obj.configuration.agent if obj.configuration_id else None
    if isinstance(obj, AgentHierarchy):
        return obj.supervisor if obj.supervisor_id else None
    return obj.agent if getattr(obj, "agent_id", None) else None


def may_write(principal: tenancy.Principal | None, obj, action: str) -> bool:
    """May ``principal`` ``action`` ("add", "change", "delete") ``obj``?  For "add"
    ``obj`` is the unsaved row (its workspace and agent set)."""
    if principal is None:
        return True
    model = type(obj)
    if model in ROLE_GUARDED or (model is Agent and action == "add"):
        if action == "add":
            allowed = tenancy.can_in_workspace(principal, obj.workspace, model, "add")
        else:
            allowed = tenancy.can(principal, obj, action)
        if not allowed or model is AgentAccess or model is Agent:
            return allowed
    agent = agent_of(obj)
    if agent is None:
        return True
    return queries.can_edit(principal, agent)


def require_write(principal, obj, action: str) -> None:
    if may_write(principal, obj, action):
        return
    agent = agent_of(obj)
    if type(obj) in ROLE_GUARDED:
        message = (f"Your role in this workspace cannot change "
                   f"{obj._meta.verbose_name_plural}.")
    else:
        message = (f"You may not edit the agent {agent}: it needs a role that may change "
                   "agents, or an edit grant.")
    raise ApiError(403, "agent_edit_denied", message)


# --- agents -------------------------------------------------------------------------------


@transaction.atomic
def agent_create(*, workspace, by=None, principal=None, tags=None, **fields) -> Agent:
    agent = Agent(workspace=workspace, **fields)
    require_write(principal, agent, "add")
    if agent.status != Agent.Status.ARCHIVED:
        entitlements.require(workspace.pk, "agents")  # the plan's agent count
    if agent.created_by_id is None:
        agent.created_by = _user(by)
    _save(agent)
    if tags is not None:
        agent.tags.set(tags)
    return agent


@transaction.atomic
def agent_update(agent: Agent, *, principal=None, tags=None, **fields) -> Agent:
    require_write(principal, agent, "change")
    fields.pop("live_configuration", None)  # only publish and roll back move it
    if fields.get("status", Agent.Status.ARCHIVED) != Agent.Status.ARCHIVED and \
            Agent.objects.filter(pk=agent.pk, status=Agent.Status.ARCHIVED).exists():
        entitlements.require(agent.workspace_id, "agents")  # back from the archive
    for name, value in fields.items():
        setattr(agent, name, value)
    # A caller's copy may predate a publish: never write a stale live version back.
    agent.live_configuration_id = Agent.objects.filter(pk=agent.pk).values_list(
        "live_configuration_id", flat=True).first()
    _save(agent)
    if tags is not None:
        agent.tags.set(tags)
    return agent


@transaction.atomic
def agent_delete(agent: Agent, *, principal=None) -> None:
    require_write(principal, agent, "delete")
    agent.delete()


# --- versions -----------------------------------------------------------------------------


def _check_tools(configuration: AgentConfiguration, tools) -> None:
    foreign = [t.name for t in tools or () if t.agent_id != configuration.agent_id]
    if foreign:
        raise ValidationError({"tools": [f"Tools of another agent: {', '.join(foreign)}."]})


def _require_draft(configuration: AgentConfiguration) -> None:
    if configuration.pk and AgentConfiguration.objects.filter(
            pk=configuration.pk, status=Status.PUBLISHED).exists():
        raise ValidationError("A published version is frozen: create a new draft to change "
                              "the agent.", code="published")


@transaction.atomic
def configuration_create(*, agent: Agent, principal=None, by=None, tools=None,
                         **fields) -> AgentConfiguration:
    """A new draft version of ``agent`` with the given settings."""
    fields.pop("workspace", None)  # the agent's; the serializer checked they agree
    configuration = AgentConfiguration(workspace_id=agent.workspace_id, agent=agent, **fields)
    require_write(principal, configuration, "add")
    _check_tools(configuration, tools)
    _save(configuration)
    if tools is not None:
        configuration.tools.set(tools)
    return configuration


@transaction.atomic
def configuration_update(configuration: AgentConfiguration, *, principal=None, tools=None,
                         **fields) -> AgentConfiguration:
    """Change a draft; published versions are frozen."""
    require_write(principal, configuration, "change")
    _require_draft(configuration)
    for name, value in fields.items():
        setattr(configuration, name, value)
    if "agent" in fields:  # moving a draft: the new agent's rule too
        require_write(principal, configuration, "change")
        if tools is None and configuration.tools.exclude(agent=configuration.agent).exists():
            raise ValidationError({"agent": ["This draft uses tools of its agent: clear "
                                             "them before moving it."]})
    _check_tools(configuration, tools)
    _save(configuration)
    if tools is not None:
        configuration.tools.set(tools)
    return configuration


@transaction.atomic
def configuration_delete(configuration: AgentConfiguration, *, principal=None) -> None:
    """Delete a draft; published versions are the agent's history and stay."""
    require_write(principal, configuration, "delete")
    if configuration.status == Status.PUBLISHED:
        raise ValidationError("A published version is kept as the agent's history: it "
                              "cannot be deleted.", code="published")
    configuration.delete()


@transaction.atomic
def configuration_new_draft(agent: Agent, from_configuration: AgentConfiguration | None = None,
                            *, by=None, principal=None) -> AgentConfiguration:
    """A draft copying ``from_configuration`` (default: the live version, else the latest):
    its settings, tools, knowledge links and fallback models."""
    require_write(principal, agent, "change")
    source = from_configuration or agent.live_configuration or \
        agent.configurations.order_by("-number", "-id").first()
    if source is None:
        raise ValidationError("This agent has no version to start from: create a draft "
                              "with its model and prompt.")
    if source.agent_id != agent.pk:
        raise ValidationError({"configuration": [f"{source} is a version of another agent."]})
    draft = AgentConfiguration(workspace_id=agent.workspace_id, agent=agent,
                               note=f"From {source}"[:300],
                               **{name: getattr(source, name) for name in CONFIGURATION_FIELDS})
    _save(draft)
    draft.tools.set(source.tools.all())
    AgentKnowledgeBase.objects.bulk_create(
        AgentKnowledgeBase(workspace_id=agent.workspace_id, configuration=draft,
                           knowledge_base_id=link.knowledge_base_id, top_k=link.top_k)
        for link in source.knowledge.all())
    AgentModel.objects.bulk_create(
        AgentModel(workspace_id=agent.workspace_id, configuration=draft,
                   model_id=fallback.model_id, position=fallback.position)
        for fallback in source.fallbacks.all())
    _activity(agent, by, "agent.draft_created", f"New draft of agent {agent} from {source}",
              target=draft, source=source.pk)
    return draft


@transaction.atomic
def configuration_publish(configuration: AgentConfiguration, *, by=None, note: str = "",
                          principal=None) -> AgentConfiguration:
    """Freeze a draft as the agent's next version number and make it live."""
    require_write(principal, configuration, "change")
    agent = Agent.objects.select_for_update().get(pk=configuration.agent_id)  # one at a time
    caller = configuration
    configuration = AgentConfiguration.objects.select_for_update().get(pk=configuration.pk)
    if configuration.status == Status.PUBLISHED:
        raise ValidationError(f"{configuration} is already published: roll back to it, or "
                              "publish a new draft.", code="published")
    configuration.full_clean()
    last = agent.configurations.aggregate(n=Max("number"))["n"] or 0
    configuration.number = last + 1
    configuration.status = Status.PUBLISHED
    configuration.published_at = timezone.now()
    configuration.published_by = _user(by)
    if note:
        configuration.note = note[:300]
    configuration.save(update_fields=["number", "status", "published_at", "published_by",
                                      "note", "updated_at"])
    agent.live_configuration = configuration
    agent.save(update_fields=["live_configuration", "updated_at"])
    for name in ("number", "status", "published_at", "published_by_id", "note"):
        setattr(caller, name, getattr(configuration, name))  # the caller's copy is current
    _activity(agent, by, "agent.published",
              f"Agent {agent} published as version {configuration.number}",
              target=configuration, version=configuration.number)
    return configuration


@transaction.atomic
def configuration_rollback(agent: Agent, configuration: AgentConfiguration, *, by=None,
                           principal=None) -> Agent:
    """Make an earlier published version live again (conversations use it from now on)."""
    require_write(principal, agent, "change")
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    configuration = AgentConfiguration.objects.get(pk=configuration.pk)  # its status now
    if configuration.agent_id != agent.pk:
        raise ValidationError({"configuration": [f"{configuration} is a version of another "
                                                 "agent."]})
    if configuration.status != Status.PUBLISHED:
        raise ValidationError({"configuration": ["Only a published version can be made "
                                                 "live: publish the draft instead."]})
    previous = agent.live_configuration
    agent.live_configuration = configuration
    agent.save(update_fields=["live_configuration", "updated_at"])
    _activity(agent, by, "agent.rolled_back",
              f"Agent {agent} rolled back to version {configuration.number}",
              target=configuration, version=configuration.number,
              previous=previous.number if previous else None)
    return agent


# --- the agent's parts: tools, quotas, knowledge links, fallbacks, delegation, access -----


def _workspace_from(fields: dict):
    anchor = fields.get("agent") or fields.get("configuration") or fields.get("supervisor")
    return anchor.workspace_id if anchor is not None else None


def _part_check(obj) -> None:
    if isinstance(obj, AgentAccess) and obj.user_id:
        from workspaces.queries import is_member

        if not is_member(obj.user_id, obj.workspace_id):
            raise ValidationError({"user": ["Grant access only to members of the workspace."]})
    if isinstance(obj, AgentModel | AgentKnowledgeBase) and obj.configuration_id:
        _require_draft(obj.configuration)


@transaction.atomic
def part_create(model_class, /, *, principal=None, by=None, **fields):
    """A new tool, quota, knowledge link, fallback, delegation or access grant."""
    workspace = fields.pop("workspace", None)
    obj = model_class(**fields)
    obj.workspace_id = workspace.pk if workspace is not None else _workspace_from(fields)
    require_write(principal, obj, "add")
    if isinstance(obj, AgentHierarchy) and obj.sub_agent_id and principal is not None \
            and not queries.can_use(principal, obj.sub_agent):
        raise ApiError(403, "agent_access_denied",
                       f"You may not use {obj.sub_agent}, so you cannot delegate to it.")
    _part_check(obj)
    _save(obj)
    return obj


@transaction.atomic
def part_update(obj, *, principal=None, **fields):
    require_write(principal, obj, "change")
    _part_check(obj)  # the row as it was: a link of a published version stays frozen
    fields.pop("workspace", None)
    for name, value in fields.items():
        setattr(obj, name, value)
    require_write(principal, obj, "change")  # and as it will be (another agent?)
    _part_check(obj)
    _save(obj)
    return obj


@transaction.atomic
def part_delete(obj, *, principal=None) -> None:
    require_write(principal, obj, "delete")
    _part_check(obj)
    obj.delete()


#: Models ``part_*`` serve (triggers have their own service: schedules to keep in step).
PARTS = (AgentTool, AgentQuota, AgentKnowledgeBase, AgentModel, AgentHierarchy, AgentAccess)

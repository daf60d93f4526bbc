"""Agents API: providers, models and prices; agents with versions (publish, new draft,
roll back), tools, quotas, triggers, knowledge links, fallbacks, delegation and access;
conversations, messages (read), feedback; usage logs, error logs and daily metrics (read).

Scoped like every workspace resource (other tenants' rows answer 404).  Writes go
through ``agents.services``, which hold the access rule: an agent and its parts change
with ``queries.can_edit`` (a viewer with an edit grant may; restricted agents only
admins and grantees), quotas and access grants also need the admin role.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from core import tenancy
from core.api.errors import ApiError
from core.api.permissions import TenantPermission
from core.api.viewsets import ScopedModelViewSet, ScopedReadOnlyModelViewSet
from core.context import request_user

from .. import models as m
from ..services import agents as services
from ..services import conversations
from . import serializers as s


def _principal(request):
    return tenancy.principal_for(request)


class AgentWritePermission(TenantPermission):
    """Reads as any scoped resource; writes by the agents' own rule (``may_write``)."""

    def has_object_permission(self, request, view, obj) -> bool:
        action_name = self._ACTIONS.get(request.method)
        if action_name is None:
            return True
        if view.action not in ("update", "partial_update", "destroy"):
            return True  # an action checks its own rule in its service
        return services.may_write(_principal(request), obj, action_name)


class _ServiceViewSet(ScopedModelViewSet):
    """Writes through services that take the caller (``principal``) and check it.

    ``perform_create`` replaces the kernel's workspace-role check: a viewer with an
    edit grant may add a tool to the agent they edit.
    """

    permission_classes = [AgentWritePermission]

    def service_create(self, data: dict):
        raise NotImplementedError

    def service_update(self, instance, data: dict):
        raise NotImplementedError

    def service_delete(self, instance) -> None:
        raise NotImplementedError

    def perform_create(self, serializer):
        with transaction.atomic():
            serializer.instance = self.service_create(dict(serializer.validated_data))

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.instance = self.service_update(serializer.instance,
                                                      dict(serializer.validated_data))

    def perform_destroy(self, instance):
        with transaction.atomic():
            self.service_delete(instance)


class _PartViewSet(_ServiceViewSet):
    def service_create(self, data):
        return services.part_create(self.queryset.model, principal=_principal(self.request),
                                    by=request_user(self.request), **data)

    def service_update(self, instance, data):
        return services.part_update(instance, principal=_principal(self.request), **data)

    def service_delete(self, instance):
        services.part_delete(instance, principal=_principal(self.request))


# --- providers, models, prices ------------------------------------------------------------


class LLMProviderViewSet(ScopedModelViewSet):
    """LLM API accounts (`openai_compatible` or `anthropic`). `api_key_secret` is the id
    of a secret of the workspace vault; the key itself is never accepted or shown here."""

    queryset = m.LLMProvider.objects.all()
    serializer_class = s.LLMProviderSerializer


class LLMModelViewSet(ScopedModelViewSet):
    """Models a provider serves, by the name its API expects."""

    queryset = m.LLMModel.objects.all()
    serializer_class = s.LLMModelSerializer


class ModelPriceViewSet(ScopedModelViewSet):
    """Dated prices per million tokens: a call costs the price in effect at its time."""

    queryset = m.ModelPrice.objects.all()
    serializer_class = s.ModelPriceSerializer


# --- agents and versions ------------------------------------------------------------------


class AgentViewSet(_ServiceViewSet):
    """Agents: a live version (`live_configuration`) answers conversations. Change the
    behaviour through `configurations/` (drafts, then `publish/`); `rollback/` makes an
    earlier published version live."""

    queryset = m.Agent.objects.all()
    serializer_class = s.AgentSerializer
    lookup_value_regex = "[0-9]+"  # keeps agents/tools/ etc. apart from an agent id

    def service_create(self, data):
        return services.agent_create(by=request_user(self.request),
                                     principal=_principal(self.request), **data)

    def service_update(self, instance, data):
        return services.agent_update(instance, principal=_principal(self.request), **data)

    def service_delete(self, instance):
        services.agent_delete(instance, principal=_principal(self.request))

    @extend_schema(request=s.RollbackSerializer, responses={200: s.AgentSerializer},
                   summary="Roll back: make an earlier published version live",
                   description="Name it by `configuration` (id) or `version` (number); "
                               "neither: the version published before the live one.")
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        agent = self.get_object()
        body = s.RollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        configuration = _version_of(agent, body.validated_data)
        agent = services.configuration_rollback(agent, configuration, by=request_user(request),
                                                principal=_principal(request))
        return Response(self.get_serializer(agent).data)


def _version_of(agent: m.Agent, data: dict) -> m.AgentConfiguration:
    versions = agent.configurations.all()
    if data.get("configuration") is not None:
        found = versions.filter(pk=data["configuration"]).first()
        field, value = "configuration", data["configuration"]
    elif data.get("version") is not None:
        found = versions.filter(number=data["version"]).first()
        field, value = "version", data["version"]
    else:
        live = agent.live_configuration
        found = (versions.filter(status=m.AgentConfiguration.Status.PUBLISHED,
                                 number__lt=live.number).order_by("-number").first()
                 if live else None)
        if found is None:
            raise ApiError(400, "invalid", "There is no earlier published version to roll "
                                           "back to.", errors={"version": ["Nothing earlier."]})
        return found
    if found is None:
        raise ApiError(400, "invalid", "No such version of this agent.",
                       errors={field: [f"{agent} has no version {value}."]})
    return found


class AgentConfigurationViewSet(_ServiceViewSet):
    """Versions of agents: drafts are edited; `publish/` freezes one as the next number
    and makes it live; `duplicate/` starts a new draft from any version (with its tools,
    knowledge links and fallback models)."""

    queryset = m.AgentConfiguration.objects.all()
    serializer_class = s.AgentConfigurationSerializer

    def service_create(self, data):
        return services.configuration_create(principal=_principal(self.request),
                                             by=request_user(self.request), **data)

    def service_update(self, instance, data):
        return services.configuration_update(instance, principal=_principal(self.request),
                                             **data)

    def service_delete(self, instance):
        services.configuration_delete(instance, principal=_principal(self.request))

    @extend_schema(request=s.ConfigurationPublishSerializer,
                   responses={200: s.AgentConfigurationSerializer},
                   summary="Publish the draft: the next version number, frozen and live",
                   description="400 when it is already published or breaks a rule.")
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        configuration = self.get_object()
        body = s.ConfigurationPublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        configuration = services.configuration_publish(
            configuration, by=request_user(request), note=body.validated_data["note"],
            principal=_principal(request))
        return Response(self.get_serializer(configuration).data)

    @extend_schema(request=None, responses={201: s.AgentConfigurationSerializer},
                   summary="A new draft copying this version",
                   description="Copies the settings, tools, knowledge links and fallback "
                               "models; the copy is a draft of the same agent.")
    @action(detail=True, methods=["post"])
    def duplicate(self, request, pk=None):
        configuration = self.get_object()
        draft = services.configuration_new_draft(configuration.agent, configuration,
                                                 by=request_user(request),
                                                 principal=_principal(request))
        return Response(self.get_serializer(draft).data, status=status.HTTP_201_CREATED)


class AgentModelViewSet(_PartViewSet):
    """Fallback models of a draft version, tried in `position` order when the main model
    keeps failing."""

    queryset = m.AgentModel.objects.all()
    serializer_class = s.AgentModelSerializer


class AgentKnowledgeBaseViewSet(_PartViewSet):
    """Knowledge bases a draft version searches before answering (`top_k` chunks)."""

    queryset = m.AgentKnowledgeBase.objects.all()
    serializer_class = s.AgentKnowledgeBaseSerializer


class AgentToolViewSet(_PartViewSet):
    """Tools the agent's model may call: a workflow (its input schema the parameters),
    a knowledge search, or HTTP through a workflow. Versions list the tools they offer."""

    queryset = m.AgentTool.objects.all()
    serializer_class = s.AgentToolSerializer


class AgentQuotaViewSet(_PartViewSet):
    """Token and cost ceilings per day or month, for one agent or (no agent) the whole
    workspace; enforced before each call. Admins set them."""

    queryset = m.AgentQuota.objects.all()
    serializer_class = s.AgentQuotaSerializer


class AgentHierarchyViewSet(_PartViewSet):
    """Delegation: a supervisor may hand a question to a sub-agent (no cycles)."""

    queryset = m.AgentHierarchy.objects.all()
    serializer_class = s.AgentHierarchySerializer


class AgentAccessViewSet(_PartViewSet):
    """Use or edit grants on one agent for a member or a custom role (admins manage)."""

    queryset = m.AgentAccess.objects.all()
    serializer_class = s.AgentAccessSerializer


def _triggers():
    """HE's trigger services (schedules kept in step with beat), imported when used."""
    try:
        from ..services import triggers
    except ImportError:
        return None
    return triggers


class AgentTriggerViewSet(_ServiceViewSet):
    """What starts a conversation without a person: `webhook` (POST to
    `/api/v1/hooks/agents/<webhook_token>/`), `schedule` (`{"cron", "timezone",
    "message"}`) or `event` (`{"event", "message"}`)."""

    queryset = m.AgentTrigger.objects.all()
    serializer_class = s.AgentTriggerSerializer

    def service_create(self, data):
        data.pop("workspace", None)
        trigger = m.AgentTrigger(workspace_id=data["agent"].workspace_id, **data)
        services.require_write(_principal(self.request), trigger, "add")
        triggers = _triggers()
        if triggers is None:
            trigger.full_clean()
            trigger.save()
            return trigger
        return triggers.trigger_create(**data)

    def service_update(self, instance, data):
        principal = _principal(self.request)
        services.require_write(principal, instance, "change")
        if "agent" in data:
            services.require_write(principal, m.AgentTrigger(
                workspace_id=instance.workspace_id, agent=data["agent"]), "change")
        triggers = _triggers()
        if triggers is None:
            for name, value in data.items():
                setattr(instance, name, value)
            instance.full_clean()
            instance.save()
            return instance
        return triggers.trigger_update(instance, **data)

    def service_delete(self, instance):
        services.require_write(_principal(self.request), instance, "delete")
        triggers = _triggers()
        if triggers is None:
            instance.delete()
        else:
            triggers.trigger_delete(instance)


class AgentErrorLogViewSet(ScopedReadOnlyModelViewSet):
    """What went wrong in conversations: provider, tool, quota, output, limits."""

    queryset = m.AgentErrorLog.objects.all()
    serializer_class = s.AgentErrorLogSerializer


class AgentUsageMetricViewSet(ScopedReadOnlyModelViewSet):
    """One agent's day: conversations, calls, tokens, cost, errors, latency, feedback."""

    queryset = m.AgentUsageMetric.objects.all()
    serializer_class = s.AgentUsageMetricSerializer


# --- conversations ------------------------------------------------------------------------


class _SignedIn(TenantPermission):
    """Writes whose service checks the rule (use of the agent, authorship)."""

    def has_object_permission(self, request, view, obj) -> bool:
        return True


class ConversationViewSet(_ServiceViewSet):
    """Threads with agents. Open one here or by chatting (`agents/{id}/chat/`); change its
    title, status or metadata; its messages are read through `messages/`."""

    queryset = m.Conversation.objects.all()
    serializer_class = s.ConversationSerializer

    permission_classes = [_SignedIn]

    def service_create(self, data):
        return conversations.conversation_create(principal=_principal(self.request), **data)

    def service_update(self, instance, data):
        return conversations.conversation_update(instance, principal=_principal(self.request),
                                                 **data)

    def service_delete(self, instance):
        conversations.conversation_delete(instance, principal=_principal(self.request))


class MessageViewSet(ScopedReadOnlyModelViewSet):
    """Messages of conversations in order (`?conversation=`): written by the chat loop only."""

    queryset = m.Message.objects.all()
    serializer_class = s.ConversationMessageSerializer


class MessageFeedbackViewSet(_ServiceViewSet):
    """Ratings of answers, one per person and message (`by` is the caller)."""

    queryset = m.MessageFeedback.objects.all()
    serializer_class = s.MessageFeedbackSerializer

    permission_classes = [_SignedIn]

    def service_create(self, data):
        return conversations.feedback_create(principal=_principal(self.request), **data)

    def service_update(self, instance, data):
        return conversations.feedback_update(instance, principal=_principal(self.request),
                                             **data)

    def service_delete(self, instance):
        conversations.feedback_delete(instance, principal=_principal(self.request))


class LLMUsageLogViewSet(ScopedReadOnlyModelViewSet):
    """One row per provider call (chats, workflow nodes, playground, embeddings): tokens
    as reported and the cost at the price in effect at the call's time."""

    queryset = m.LLMUsageLog.objects.all()
    serializer_class = s.LLMUsageLogSerializer


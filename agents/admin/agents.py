"""Back office of agents: the agent (with its test chat page), its versions (publish,
new draft, roll back), tools, quotas, triggers, knowledge links, fallback models,
delegation and access grants.  Every write goes through ``agents.services`` with the
caller, so the admin keeps the API's rule (``queries.can_edit``)."""

from __future__ import annotations

from importlib import import_module

from django.contrib import admin, messages
from django.http import Http404
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .. import models as m
from ..services import agents as services
from .common import AgentRuleAdmin, badge, call, principal

Status = m.AgentConfiguration.Status


def _link(obj, label=None):
    if obj is None:
        return "—"
    url = reverse(f"admin:agents_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or obj)


@admin.register(m.Agent)
class AgentAdmin(AgentRuleAdmin):
    list_display = ("name", "workspace", "status_badge", "kind", "live_version", "access_mode",
                    "updated_at")
    list_select_related = ("workspace", "live_configuration")
    list_filter = ("status", "kind", "access_mode")
    search_fields = ("name", "description")
    readonly_fields = ("live_configuration_link", "versions", "performance_metrics",
                       "created_by")
    actions = ["roll_back", "new_draft"]
    object_pages = {"chat": ("chat/", "chat_view")}
    fieldsets = (
        (None, {"fields": ("workspace", "project", "name", "description", "kind", "status",
                           "tags")}),
        ("Access", {"fields": ("access_mode",)}),
        ("Behaviour", {"fields": ("live_configuration_link", "versions", "capabilities",
                                  "settings", "metadata")}),
        ("Voice (voice agents)", {"fields": ("voice_provider_agent_id", "voice",
                                             "voice_language", "call_settings"),
                                  "classes": ("collapse",)}),
        ("Record", {"fields": ("performance_metrics", "created_by")}),
    )

    def get_autocomplete_fields(self, request):
        fields = super().get_autocomplete_fields(request)
        return [*fields, "tags"] if self._searchable(m.Agent.tags.field.related_model) \
            else fields

    @admin.display(description="status", ordering="status")
    def status_badge(self, agent):
        return badge(agent)

    @admin.display(description="live version")
    def live_version(self, agent):
        live = agent.live_configuration
        return f"v{live.number}" if live else "— (not published)"

    @admin.display(description="live version")
    def live_configuration_link(self, agent):
        return _link(agent.live_configuration)

    @admin.display(description="versions")
    def versions(self, agent):
        if agent.pk is None:
            return "—"
        rows = list(agent.configurations.select_related("model").order_by("-number", "-id")[:10])
        if not rows:
            return "No version yet: add a configuration (a draft), then publish it."
        return format_html(
            "<table><thead><tr><th>version</th><th>status</th><th>model</th><th>note</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                             ((_link(c, f"v{c.number}" if c.number else "draft"),
                               badge(c), c.model, c.note) for c in rows)))

    def service_create(self, request, fields):
        workspace = fields.pop("workspace")
        return services.agent_create(workspace=workspace, by=request.user,
                                     principal=principal(request), **fields)

    def service_update(self, request, obj, fields):
        return services.agent_update(obj, principal=principal(request), **fields)

    def service_delete(self, request, obj):
        services.agent_delete(obj, principal=principal(request))

    @admin.action(description="Roll back to the version published before the live one",
                  permissions=["change"])
    def roll_back(self, request, queryset):
        for agent in queryset.select_related("live_configuration"):
            live = agent.live_configuration
            earlier = live and agent.configurations.filter(
                status=Status.PUBLISHED, number__lt=live.number).order_by("-number").first()
            if not earlier:
                self.message_user(request, f"{agent}: no earlier published version.",
                                  messages.WARNING)
                continue
            if call(self, request, f"{agent} was not rolled back",
                    services.configuration_rollback, agent, earlier, by=request.user,
                    principal=principal(request)):
                self.message_user(request, f"{agent} now answers with v{earlier.number}.",
                                  messages.SUCCESS)

    @admin.action(description="New draft from the live version", permissions=["change"])
    def new_draft(self, request, queryset):
        for agent in queryset:
            draft = call(self, request, f"No draft for {agent}", services.configuration_new_draft,
                         agent, by=request.user, principal=principal(request))
            if draft:
                self.message_user(request, format_html("New {} for {}.", _link(draft, "draft"),
                                                       agent), messages.SUCCESS)

    def chat_view(self, request, object_id):
        """The test chat (``agents.admin.chat.chat_page``), answering as the change page
        does for rows out of reach."""
        self.get_object_or_404(request, object_id)
        try:
            chat_page = import_module("agents.admin.chat").chat_page
        except (ImportError, AttributeError) as exc:
            raise Http404("The test chat is not installed on this server.") from exc
        return chat_page(self, request, object_id)


@admin.register(m.AgentConfiguration)
class AgentConfigurationAdmin(AgentRuleAdmin):
    list_display = ("__str__", "agent", "status_badge", "model", "published_at", "note")
    list_select_related = ("agent", "model")
    list_filter = ("status",)
    search_fields = ("agent__name", "note")
    fields = ("workspace", "agent", "number", "status", "system_prompt", "model",
              "temperature", "max_tokens", "max_steps", "tools", "response_format", "note",
              "published_at", "published_by", "fallback_models", "knowledge_bases")
    readonly_fields = ("number", "status", "published_at", "published_by", "fallback_models",
                       "knowledge_bases")
    actions = ["publish", "make_live", "new_draft"]

    def has_change_permission(self, request, obj=None):
        # A published version is frozen: it is viewed, and copied into a new draft.
        if obj is not None and obj.status == Status.PUBLISHED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status == Status.PUBLISHED:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="status", ordering="status")
    def status_badge(self, configuration):
        return badge(configuration)

    @admin.display(description="fallback models")
    def fallback_models(self, configuration):
        if configuration.pk is None:
            return "—"
        rows = configuration.fallbacks.select_related("model")
        return ", ".join(f"{f.position}. {f.model}" for f in rows) or "None"

    @admin.display(description="knowledge bases")
    def knowledge_bases(self, configuration):
        if configuration.pk is None:
            return "—"
        rows = configuration.knowledge.select_related("knowledge_base")
        return ", ".join(f"{k.knowledge_base} (top {k.top_k})" for k in rows) or "None"

    def service_create(self, request, fields):
        fields.pop("workspace", None)
        return services.configuration_create(principal=principal(request), by=request.user,
                                             **fields)

    def service_update(self, request, obj, fields):
        return services.configuration_update(obj, principal=principal(request), **fields)

    def service_delete(self, request, obj):
        services.configuration_delete(obj, principal=principal(request))

    @admin.action(description="Publish (the next version number, made live)",
                  permissions=["change"])
    def publish(self, request, queryset):
        for configuration in queryset.select_related("agent"):
            done = call(self, request, f"{configuration} was not published",
                        services.configuration_publish, configuration, by=request.user,
                        principal=principal(request))
            if done:
                self.message_user(request, f"{done.agent} now answers with v{done.number}.",
                                  messages.SUCCESS)

    @admin.action(description="Make live (roll back to this published version)",
                  permissions=["view"])
    def make_live(self, request, queryset):
        for configuration in queryset.select_related("agent"):
            agent = call(self, request, f"{configuration} was not made live",
                         services.configuration_rollback, configuration.agent, configuration,
                         by=request.user, principal=principal(request))
            if agent:
                self.message_user(request, f"{agent} now answers with {configuration}.",
                                  messages.SUCCESS)

    @admin.action(description="New draft from this version", permissions=["view"])
    def new_draft(self, request, queryset):
        for configuration in queryset.select_related("agent"):
            draft = call(self, request, f"No draft from {configuration}",
                         services.configuration_new_draft, configuration.agent, configuration,
                         by=request.user, principal=principal(request))
            if draft:
                self.message_user(request, format_html("New {} from {}.", _link(draft, "draft"),
                                                       configuration), messages.SUCCESS)


@admin.register(m.AgentModel)
class AgentModelAdmin(AgentRuleAdmin):
    list_display = ("configuration", "position", "model")
    list_select_related = ("configuration__agent", "model")
    search_fields = ("configuration__agent__name", "model__name")
    fields = ("workspace", "configuration", "model", "position")


@admin.register(m.AgentKnowledgeBase)
class AgentKnowledgeBaseAdmin(AgentRuleAdmin):
    list_display = ("configuration", "knowledge_base", "top_k")
    list_select_related = ("configuration__agent", "knowledge_base")
    search_fields = ("configuration__agent__name", "knowledge_base__name")
    fields = ("workspace", "configuration", "knowledge_base", "top_k")


@admin.register(m.AgentTool)
class AgentToolAdmin(AgentRuleAdmin):
    list_display = ("name", "agent", "kind", "workflow", "knowledge_base", "enabled")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "agent__name", "description")
    fields = ("workspace", "agent", "name", "description", "kind", "workflow",
              "knowledge_base", "input_schema", "timeout", "enabled")


@admin.register(m.AgentQuota)
class AgentQuotaAdmin(AgentRuleAdmin):
    list_display = ("__str__", "workspace", "period", "max_tokens", "max_cost", "tokens_used",
                    "cost_used", "enabled")
    list_select_related = ("workspace", "agent")
    list_filter = ("period", "enabled")
    search_fields = ("agent__name",)
    fields = ("workspace", "agent", "period", "max_tokens", "max_cost", "currency", "enabled",
              "period_start", "tokens_used", "cost_used", "tokens_reserved", "cost_reserved",
              "alerted_percent")
    readonly_fields = ("period_start", "tokens_used", "cost_used", "tokens_reserved",
                       "cost_reserved", "alerted_percent")


def _triggers():
    try:
        return import_module("agents.services.triggers")
    except ImportError:
        return None


@admin.register(m.AgentTrigger)
class AgentTriggerAdmin(AgentRuleAdmin):
    list_display = ("__str__", "agent", "kind", "enabled", "last_fired_at")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "agent__name")
    fields = ("workspace", "agent", "kind", "name", "enabled", "config", "webhook_address",
              "last_fired_at")
    readonly_fields = ("webhook_address", "last_fired_at")

    @admin.display(description="webhook address")
    def webhook_address(self, trigger):
        if trigger.pk is None or trigger.kind != m.AgentTrigger.Kind.WEBHOOK:
            return "— (webhook triggers only)"
        return format_html("<code>POST /api/v1/hooks/agents/{}/</code>", trigger.webhook_token)

    def service_create(self, request, fields):
        fields.pop("workspace", None)
        trigger = m.AgentTrigger(workspace_id=fields["agent"].workspace_id, **fields)
        services.require_write(principal(request), trigger, "add")
        triggers = _triggers()
        if triggers is None:
            trigger.full_clean()
            trigger.save()
            return trigger
        return triggers.trigger_create(**fields)

    def service_update(self, request, obj, fields):
        services.require_write(principal(request), obj, "change")
        triggers = _triggers()
        if triggers is None:
            obj.full_clean()
            obj.save()
            return obj
        return triggers.trigger_update(obj, **fields)

    def service_delete(self, request, obj):
        services.require_write(principal(request), obj, "delete")
        triggers = _triggers()
        if triggers is None:
            obj.delete()
        else:
            triggers.trigger_delete(obj)


@admin.register(m.AgentHierarchy)
class AgentHierarchyAdmin(AgentRuleAdmin):
    list_display = ("supervisor", "sub_agent", "description")
    list_select_related = ("supervisor", "sub_agent")
    search_fields = ("supervisor__name", "sub_agent__name")
    fields = ("workspace", "supervisor", "sub_agent", "description")


@admin.register(m.AgentAccess)
class AgentAccessAdmin(AgentRuleAdmin):
    list_display = ("agent", "user", "role", "access")
    list_select_related = ("agent", "user", "role")
    list_filter = ("access",)
    search_fields = ("agent__name", "user__email", "role__name")
    fields = ("workspace", "agent", "user", "role", "access")

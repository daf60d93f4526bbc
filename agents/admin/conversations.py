"""Back office of conversations: threads (title, status, metadata changed here; opened by
chatting), their messages (read-only: the chat loop writes them), feedback on answers,
and agents' error log (read-only)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from core.admin.base import ReadOnlyModelAdmin

from .. import models as m
from ..services import conversations as services
from .common import AgentRuleAdmin, badge, principal

MESSAGES_SHOWN = 50


def _summary(message) -> str:
    if message.content:
        return message.content[:500]
    if message.tool_calls:
        names = ", ".join(str(call.get("name", "?")) for call in message.tool_calls
                          if isinstance(call, dict))
        return f"tool calls: {names}"
    return message.error or "—"


class _ConversationRules(AgentRuleAdmin):
    def _may(self, request, obj, action: str) -> bool:
        # The services decide (own rows or the role); the admin lets the form through to them.
        return obj is None or super(AgentRuleAdmin, self)._may(request, obj, action) or \
            getattr(obj, "user_id", getattr(obj, "by_id", None)) == request.user.pk


@admin.register(m.Conversation)
class ConversationAdmin(_ConversationRules):
    list_display = ("__str__", "agent", "channel", "status_badge", "user", "tokens_in",
                    "tokens_out", "cost", "last_message_at")
    list_select_related = ("agent", "user")
    list_filter = ("status", "channel")
    search_fields = ("title", "external_id", "agent__name")
    fields = ("workspace", "agent", "title", "status", "external_id", "metadata", "channel",
              "user", "parent", "configuration", "tokens_in", "tokens_out", "cost",
              "last_message_at", "transcript")
    readonly_fields = ("agent", "channel", "user", "parent", "configuration", "tokens_in",
                       "tokens_out", "cost", "last_message_at", "transcript")

    def has_add_permission(self, request):
        return False  # opened by chatting (API, test chat, triggers)

    @admin.display(description="status", ordering="status")
    def status_badge(self, conversation):
        return badge(conversation)

    @admin.display(description="messages")
    def transcript(self, conversation):
        if conversation.pk is None:
            return "—"
        rows = list(conversation.messages.order_by("sequence")[:MESSAGES_SHOWN])
        if not rows:
            return "No messages yet."
        every = reverse("admin:agents_message_changelist") + \
            f"?conversation__id__exact={conversation.pk}"
        return format_html(
            "<table><thead><tr><th>#</th><th>role</th><th>content</th><th>tokens</th>"
            "<th>cost</th></tr></thead><tbody>{}</tbody></table><p><a href=\"{}\">{}</a></p>",
            format_html_join(
                "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} + {}</td><td>{}</td></tr>",
                ((msg.sequence, msg.get_role_display(), _summary(msg), msg.tokens_in,
                  msg.tokens_out, msg.cost) for msg in rows)),
            every, "All messages")

    def service_update(self, request, obj, fields):
        return services.conversation_update(obj, principal=principal(request), **fields)

    def service_delete(self, request, obj):
        services.conversation_delete(obj, principal=principal(request))


@admin.register(m.Message)
class MessageAdmin(ReadOnlyModelAdmin):
    list_display = ("__str__", "conversation", "sequence", "role", "model", "tokens_in",
                    "tokens_out", "cost", "latency_ms", "finish_reason", "created_at")
    list_select_related = ("conversation", "model")
    list_filter = ("role", "finish_reason")
    search_fields = ("content", "conversation__title")


@admin.register(m.MessageFeedback)
class MessageFeedbackAdmin(_ConversationRules):
    list_display = ("__str__", "message", "rating", "score", "by", "created_at")
    list_select_related = ("message", "by")
    list_filter = ("rating",)
    search_fields = ("comment",)
    fields = ("workspace", "message", "rating", "score", "comment", "by")
    readonly_fields = ("by",)

    def service_create(self, request, fields):
        fields.pop("workspace", None)
        return services.feedback_create(principal=principal(request), **fields)

    def service_update(self, request, obj, fields):
        return services.feedback_update(obj, principal=principal(request), **fields)

    def service_delete(self, request, obj):
        services.feedback_delete(obj, principal=principal(request))


@admin.register(m.AgentErrorLog)
class AgentErrorLogAdmin(ReadOnlyModelAdmin):
    list_display = ("__str__", "agent", "kind", "conversation", "created_at")
    list_select_related = ("agent", "conversation")
    list_filter = ("kind",)
    search_fields = ("message", "agent__name")

"""Messages, deliveries (with their attempts: request and response) and the attempt log,
read-only; a delivery can be replayed."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from core import tenancy
from core.admin.base import ReadOnlyModelAdmin
from core.admin.display import AMBER, BLUE, GREEN, RED, status_badge

from ..models import WebhookAttempt, WebhookDelivery, WebhookMessage
from ..services import replay
from .endpoints import refused_or

COLOURS = {WebhookDelivery.Status.PENDING: BLUE, WebhookDelivery.Status.FAILED: AMBER,
           WebhookDelivery.Status.SUCCEEDED: GREEN, WebhookDelivery.Status.EXHAUSTED: RED}


def _pre(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    return format_html('<pre style="white-space: pre-wrap; max-width: 60em">{}</pre>', text)


class AttemptInline(admin.StackedInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "succeeded", "created_at", "duration_ms", "url", "headers_sent",
              "body_sent", "response_status", "response_received", "error")
    readonly_fields = fields
    ordering = ("number",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="request headers")
    def headers_sent(self, attempt):
        return _pre(attempt.request_headers)

    @admin.display(description="request body")
    def body_sent(self, attempt):
        return _pre(attempt.request_body)

    @admin.display(description="response body")
    def response_received(self, attempt):
        return _pre(attempt.response_body)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "message", "endpoint", "state", "attempts", "last_status_code",
                    "next_attempt_at", "created_at")
    list_filter = ("status",)
    search_fields = ("message__message_id", "message__event_type")
    inlines = [AttemptInline]
    actions = ["replay_deliveries"]

    @admin.display(description="status", ordering="status")
    def state(self, delivery):
        return status_badge(delivery.status, delivery.get_status_display(), COLOURS)

    @admin.action(description="Replay (send the message again, same webhook id)")
    def replay_deliveries(self, request, queryset):
        principal = tenancy.principal_for(request)
        done = [d for d in queryset.select_related("endpoint")
                if refused_or(self, request, f"Replay of {d}", replay.delivery_replay,
                              delivery=d, principal=principal) is not None]
        if done:
            self.message_user(request, f"{len(done)} delivery(ies) queued again.",
                              messages.SUCCESS)


@admin.register(WebhookMessage)
class WebhookMessageAdmin(ReadOnlyModelAdmin):
    list_display = ("message_id", "event_type", "workspace", "timestamp", "created_at")
    list_filter = ("event_type",)
    search_fields = ("message_id", "event_id")


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "delivery", "endpoint", "number", "succeeded", "response_status",
                    "duration_ms", "created_at")
    list_filter = ("succeeded",)

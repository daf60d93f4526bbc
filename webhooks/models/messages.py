"""One event to fan out: the same message (and ``webhook-id``) on every retry and replay."""

from __future__ import annotations

from django.db import models

from core.tenancy import WorkspaceScoped


class WebhookMessage(WorkspaceScoped):
    """What is sent: ``{"type", "version", "timestamp", "data"}`` under one message id."""

    append_only = True

    message_id = models.CharField(
        max_length=64, unique=True,
        help_text="The webhook-id header (msg_...), the same on every retry and replay: "
                  "receivers deduplicate on it.")
    event_type = models.CharField(max_length=120, db_index=True)
    event_id = models.CharField(max_length=64, blank=True,
                                help_text="The domain event's id (empty for test events).")
    payload = models.JSONField(help_text="The JSON body sent.")
    timestamp = models.DateTimeField(help_text="When the event happened.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id}"

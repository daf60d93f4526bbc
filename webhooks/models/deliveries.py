"""A message's way to one endpoint (retry state) and the log of every request made."""

from __future__ import annotations

from django.db import models

from core import tenancy
from core.tenancy import WorkspaceScoped


class WebhookDelivery(WorkspaceScoped):
    """One message to one endpoint: attempts on the retry schedule until a 2xx answer or
    the last attempt.  A replay is a new delivery of the same message."""

    append_only = True
    tenancy_write_role = tenancy.ADMIN  # replaying is an admin's act, as managing endpoints

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        FAILED = "failed", "Failed, will retry"
        SUCCEEDED = "succeeded", "Succeeded"
        EXHAUSTED = "exhausted", "Attempts exhausted"

    endpoint = models.ForeignKey("webhooks.WebhookEndpoint", on_delete=models.CASCADE,
                                 related_name="deliveries")
    message = models.ForeignKey("webhooks.WebhookMessage", on_delete=models.CASCADE,
                                related_name="deliveries")
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", help_text="The delivery this one re-sends.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next attempt is due (empty once final).")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-id",)
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhooks_delivery_due_idx",
                         condition=models.Q(status__in=["pending", "failed"])),
            models.Index(fields=["endpoint", "status", "id"], name="webhooks_delivery_ep_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.FAILED)


class WebhookAttempt(WorkspaceScoped):
    """One request made (append-only): what was sent, with the signature redacted, and
    what came back, truncated."""

    append_only = True

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    endpoint = models.ForeignKey("webhooks.WebhookEndpoint", on_delete=models.CASCADE,
                                 related_name="+")
    number = models.PositiveSmallIntegerField(help_text="1 for the first attempt.")
    succeeded = models.BooleanField(default=False)
    url = models.CharField(max_length=2000)
    request_headers = models.JSONField(default=dict, help_text="Signature redacted.")
    request_body = models.TextField(blank=True, help_text="Truncated.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text="Truncated.")
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"

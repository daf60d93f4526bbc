"""Where a workspace's events are sent: a URL, the events it wants, its signing secret."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from core import events, tenancy
from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped

MAX_EVENT_TYPES = 200


def validate_event_types(value) -> None:
    """A list of registered event names; empty means every event."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("A list of event names, e.g. [\"crm.call.completed\"].")
    if len(value) > MAX_EVENT_TYPES:
        raise ValidationError(f"At most {MAX_EVENT_TYPES} event types.")
    known = events.registered()
    unknown = [v for v in value if v not in known]
    if unknown:
        raise ValidationError(f"Unknown event type(s): {', '.join(sorted(unknown)[:10])}. "
                              f"See the event catalogue for the names.")
    if len(set(value)) != len(value):
        raise ValidationError("An event type is listed twice.")


class WebhookEndpoint(WorkspaceScoped, TimestampedModel):
    """An HTTPS receiver of the workspace's events, signed per the Standard Webhooks spec.

    The signing secret lives only encrypted (the vault's key ring); it is shown once, when
    made or rotated.  After a rotation the previous secret keeps signing too (a second
    signature in ``webhook-signature``) until ``previous_secret_expires_at``.  Written only
    through ``webhooks.services.endpoints``.
    """

    tenancy_write_role = tenancy.ADMIN
    sensitive_fields = ("secret_ciphertext", "previous_secret_ciphertext")

    url = models.URLField(max_length=2000, help_text="Where events are POSTed (http or https, "
                                                     "a public address).")
    description = models.CharField(max_length=300, blank=True)
    event_types = models.JSONField(
        default=list, blank=True, validators=[validate_event_types],
        help_text="Registered event names this endpoint receives; empty: every event.")
    ordered = models.BooleanField(
        default=False, help_text="Deliver in order: a message waits until every earlier one "
                                 "to this endpoint succeeded or ran out of attempts.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              help_text="Who is emailed when the endpoint is disabled.")
    is_enabled = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    secret_ciphertext = models.TextField(editable=False)
    previous_secret_ciphertext = models.TextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="Until then deliveries are signed with the previous secret too.")
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    failure_count = models.PositiveIntegerField(
        default=0, editable=False, help_text="Failed attempts since the last success.")
    first_failure_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="Start of the current failure streak (a success ends it).")
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("-id",)
        indexes = [models.Index(fields=["workspace", "is_enabled"],
                                name="webhooks_endpoint_ws_idx")]
        constraints = [models.CheckConstraint(
            condition=models.Q(is_enabled=True) | models.Q(disabled_at__isnull=False),
            name="webhooks_endpoint_disabled_at")]

    def __str__(self) -> str:
        return self.description or self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

"""Lead scores (history) and follow-ups."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped

from .common import same_workspace, validate_list


class LeadScore(WorkspaceScoped):
    """A computed score of a contact (append-only: the latest is the current one)."""

    append_only = True

    class Grade(models.TextChoices):
        A = "A", "A (hot)"
        B = "B", "B (warm)"
        C = "C", "C (cool)"
        D = "D", "D (cold)"

    class Method(models.TextChoices):
        RULES = "rules", "Rules"
        AGENT = "agent", "Rules refined by an agent"

    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE,
                                related_name="lead_scores")
    computed_at = models.DateTimeField(db_index=True)
    score = models.DecimalField(max_digits=6, decimal_places=2, validators=[
        MinValueValidator(0), MaxValueValidator(100)])
    grade = models.CharField(max_length=1, choices=Grade.choices)
    method = models.CharField(max_length=6, choices=Method.choices, default=Method.RULES)
    reasons = models.JSONField(default=list, blank=True, validators=[validate_list],
                               help_text='[{"rule": "…", "points": 10, "decayed": 7.1}]')

    class Meta:
        ordering = ("-computed_at", "-id")

    def __str__(self) -> str:
        return f"{self.contact}: {self.score} ({self.grade})"


class FollowUp(WorkspaceScoped, TimestampedModel):
    class Channel(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"
        MEETING = "meeting", "Meeting"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE,
                                related_name="follow_ups")
    call = models.ForeignKey("crm.Call", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="follow_ups")
    due_at = models.DateTimeField()
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.CALL)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    note = models.TextField(blank=True)
    rule = models.CharField(max_length=60, blank=True,
                            help_text="The rule that created it; empty when made by hand.")
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("due_at",)
        indexes = [models.Index(fields=["status", "due_at"], name="crm_followup_due_idx")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.contact} by {self.due_at:%Y-%m-%d}"

    def clean(self):
        same_workspace(self, "contact", "call")

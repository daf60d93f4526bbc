"""Outbound campaigns: who to call, from which numbers, when, how often and how fast."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped

from .common import same_workspace, validate_list, validate_object


def validate_weekdays(value) -> None:
    validate_list(value)
    if not all(isinstance(d, int) and 0 <= d <= 6 for d in value):
        raise ValidationError("Weekdays are numbers 0 (Monday) to 6 (Sunday).")


class Campaign(WorkspaceScoped, TimestampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT,
                              related_name="campaigns", help_text="The voice agent calling.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    phone_numbers = models.ManyToManyField("crm.PhoneNumber", blank=True,
                                           related_name="campaigns",
                                           help_text="The pool calls are placed from.")
    contact_lists = models.ManyToManyField("crm.ContactList", blank=True,
                                           related_name="campaigns")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    calling_hours_start = models.TimeField(default=time(9, 0),
                                           help_text="In the contact's own time zone.")
    calling_hours_end = models.TimeField(default=time(18, 0))
    calling_days = models.JSONField(default=list, blank=True, validators=[validate_weekdays],
                                    help_text="Weekdays 0 (Mon) to 6 (Sun); empty: Mon to Fri.")
    max_attempts = models.PositiveSmallIntegerField(default=3, validators=[
        MinValueValidator(1), MaxValueValidator(20)])
    retry_spacing_minutes = models.PositiveIntegerField(default=240)
    concurrency = models.PositiveSmallIntegerField(default=2, validators=[
        MinValueValidator(1), MaxValueValidator(500)], help_text="Calls at once, at most.")
    rate_per_minute = models.PositiveSmallIntegerField(default=10, validators=[
        MinValueValidator(1), MaxValueValidator(1000)])
    credits_per_call = models.DecimalField(
        max_digits=10, decimal_places=4, default=Decimal("10"),
        validators=[MinValueValidator(0)],
        help_text="Credits reserved before each call; settled on completion.")
    settings = models.JSONField(default=dict, blank=True, validators=[validate_object])

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.name

    def clean(self):
        same_workspace(self, "agent")
        if self.calling_hours_start and self.calling_hours_end and \
                self.calling_hours_start >= self.calling_hours_end:
            raise ValidationError({"calling_hours_end": "Calling hours end after they start."})
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "A campaign ends after it starts."})


class CampaignContact(WorkspaceScoped, TimestampedModel):
    """A contact's place in a campaign: how often it was tried and how it went."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        CALLING = "calling", "Call in progress"
        COMPLETED = "completed", "Completed"
        RETRY = "retry", "To retry"
        EXHAUSTED = "exhausted", "Attempts exhausted"
        SKIPPED = "skipped", "Skipped (do not call)"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="contacts")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE,
                                related_name="campaign_entries")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_outcome = models.CharField(max_length=60, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("campaign", "id")
        constraints = [models.UniqueConstraint(fields=["campaign", "contact"],
                                               name="crm_campaign_contact_unique")]
        indexes = [models.Index(fields=["campaign", "state", "next_attempt_at"],
                                name="crm_campaign_due_idx")]

    def __str__(self) -> str:
        return f"{self.contact} in {self.campaign}"

    def clean(self):
        same_workspace(self, "campaign", "contact")

"""Voice: the workspace's phone numbers, calls placed or received by voice agents,
their transcripts, and the provider events that move them (stored once each)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import TimestampedModel
from core.tenancy import ADMIN, WorkspaceScoped

from ..phones import PhoneNumberField
from .common import same_workspace, validate_list, validate_object


class PhoneNumber(WorkspaceScoped, TimestampedModel):
    """A number the workspace calls from or is called on (bought at Twilio)."""

    tenancy_write_role = ADMIN

    number = PhoneNumberField(unique=True)
    friendly_name = models.CharField(max_length=120, blank=True)
    provider = models.CharField(max_length=20, default="twilio")
    provider_sid = models.CharField(max_length=64, blank=True,
                                    help_text="Twilio's IncomingPhoneNumber SID (PN…).")
    voice_provider_id = models.CharField(max_length=64, blank=True,
                                         help_text="The number's id at the voice platform.")
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="phone_numbers",
                              help_text="The voice agent answering inbound calls.")
    capabilities = models.JSONField(default=list, blank=True, validators=[validate_list],
                                    help_text='e.g. ["voice", "sms"].')
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ("number",)

    def __str__(self) -> str:
        return self.friendly_name or self.number

    def clean(self):
        same_workspace(self, "agent")


class Call(WorkspaceScoped, TimestampedModel):
    """One phone call.  Its status only moves forward (see crm's call services)."""

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RINGING = "ringing", "Ringing"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        NO_ANSWER = "no_answer", "No answer"
        BUSY = "busy", "Busy"
        FAILED = "failed", "Failed"

    FINAL = (Status.COMPLETED, Status.NO_ANSWER, Status.BUSY, Status.FAILED)

    direction = models.CharField(max_length=8, choices=Direction.choices,
                                 default=Direction.OUTBOUND)
    from_number = PhoneNumberField()
    to_number = PhoneNumberField()
    contact = models.ForeignKey("crm.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="calls")
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="calls")
    phone_number = models.ForeignKey(PhoneNumber, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="calls")
    campaign = models.ForeignKey("crm.Campaign", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="calls")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    provider_conversation_id = models.CharField(max_length=100, blank=True)
    provider_execution_id = models.CharField(max_length=100, blank=True,
                                             help_text="The voice platform's execution id.")
    provider_call_sid = models.CharField(max_length=64, blank=True,
                                         help_text="Twilio's Call SID (CA…).")
    started_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(default=0)
    recording_url = models.URLField(max_length=500, blank=True)
    hangup_reason = models.CharField(max_length=120, blank=True)
    outcome = models.CharField(max_length=60, blank=True,
                               help_text="What came of it, e.g. interested, call_back.")
    cost = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal("0"),
                               validators=[MinValueValidator(0)])
    credits_charged = models.DecimalField(max_digits=14, decimal_places=4,
                                          default=Decimal("0"),
                                          validators=[MinValueValidator(0)])
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_object])

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["workspace", "provider_execution_id"],
                                    condition=~Q(provider_execution_id=""),
                                    name="crm_call_unique_execution"),
            models.UniqueConstraint(fields=["provider_call_sid"],
                                    condition=~Q(provider_call_sid=""),
                                    name="crm_call_unique_sid"),
        ]
        indexes = [models.Index(fields=["workspace", "created_at"], name="crm_call_day_idx"),
                   models.Index(fields=["contact", "status"], name="crm_call_contact_idx")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} call to {self.to_number}"

    def clean(self):
        same_workspace(self, "contact", "agent", "phone_number", "campaign")


class Transcript(WorkspaceScoped, TimestampedModel):
    """What was said on a call, turn by turn, and what analysis made of it."""

    class AnalysisStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="transcript")
    language = models.CharField(max_length=16, blank=True)
    turns = models.JSONField(default=list, blank=True, validators=[validate_list],
                             help_text='[{"speaker": "agent", "text": "…", "start": 1.2}]')
    analysis_status = models.CharField(max_length=10, choices=AnalysisStatus.choices,
                                       default=AnalysisStatus.PENDING)
    summary = models.TextField(blank=True)
    extracted = models.JSONField(default=dict, blank=True, validators=[validate_object],
                                 help_text="Fields the analysis extracted (intent, dates…).")

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"Transcript of {self.call}"

    def clean(self):
        same_workspace(self, "call")


class ProviderEvent(TimestampedModel):
    """A voice or telephony provider's webhook event, stored once by its id (the
    predecessor's ``twilio_processed_calls``) and applied at most once."""

    append_only = True

    class Provider(models.TextChoices):
        VOICE = "voice", "Voice platform (Bolna)"
        TWILIO = "twilio", "Twilio"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (stale or unknown call)"
        FAILED = "failed", "Failed"

    provider = models.CharField(max_length=10, choices=Provider.choices)
    event_id = models.CharField(max_length=120)
    event_type = models.CharField(max_length=60)
    workspace = models.ForeignKey(settings.TENANCY_WORKSPACE_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="provider_events")
    occurred_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("-id",)
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"],
                                               name="crm_provider_event_unique")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.event_id}"

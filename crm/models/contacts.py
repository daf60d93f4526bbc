"""Contacts and what the CRM knows about them: lists, tags, notes, the append-only
timeline, interactions, sources, conversion to customer and the journey to it."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.validators import validate_timezone
from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped

from ..phones import PhoneNumberField
from .common import same_workspace, validate_list, validate_object


class ContactSource(WorkspaceScoped, TimestampedModel):
    """Where contacts come from (a form, an import, a campaign, a partner)."""

    class Kind(models.TextChoices):
        MANUAL = "manual", "Entered by hand"
        IMPORT = "import", "File import"
        WEB = "web", "Web form"
        API = "api", "API"
        REFERRAL = "referral", "Referral"
        CAMPAIGN = "campaign", "Campaign"
        OTHER = "other", "Other"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MANUAL)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="crm_source_unique_name")]

    def __str__(self) -> str:
        return self.name


class ContactTag(WorkspaceScoped, TimestampedModel):
    name = models.CharField(max_length=60)
    color = models.CharField(max_length=7, default="#6b7280", help_text="Hex, e.g. #2563eb.")

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="crm_tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class Contact(WorkspaceScoped, TimestampedModel):
    """A person the workspace calls, emails or sells to."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        QUALIFIED = "qualified", "Qualified"
        CUSTOMER = "customer", "Customer"
        LOST = "lost", "Lost"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    first_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField(max_length=80, blank=True)
    phone = PhoneNumberField(blank=True, db_index=True)
    alt_phones = models.JSONField(default=list, blank=True, validators=[validate_list],
                                  help_text="Other numbers, E.164.")
    email = models.EmailField(blank=True)
    company = models.CharField(max_length=160, blank=True)
    job_title = models.CharField(max_length=120, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone],
                                 help_text="IANA name; calling hours are the contact's.")
    source = models.ForeignKey(ContactSource, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="contacts")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.NEW)
    not_connected = models.PositiveIntegerField(
        default=0, help_text="Calls that failed to connect (no answer, busy, failed).")
    do_not_call = models.BooleanField(default=False, help_text="Never called by campaigns.")
    tags = models.ManyToManyField(ContactTag, blank=True, related_name="contacts")
    custom_fields = models.JSONField(default=dict, blank=True, validators=[validate_object])
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_object])
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="merged_from", editable=False,
                                    help_text="Set when this duplicate was merged away.")

    class Meta:
        ordering = ("last_name", "first_name", "id")
        indexes = [models.Index(fields=["workspace", "phone"], name="crm_contact_phone_idx"),
                   models.Index(fields=["workspace", "email"], name="crm_contact_email_idx"),
                   models.Index(fields=["workspace", "status"], name="crm_contact_status_idx")]
        constraints = [models.CheckConstraint(
            condition=~Q(phone="", email=""), name="crm_contact_phone_or_email")]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.phone or self.email

    def clean(self):
        same_workspace(self, "source")


class ContactList(WorkspaceScoped, TimestampedModel):
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="crm_list_unique_name")]

    def __str__(self) -> str:
        return self.name


class ContactListMembership(WorkspaceScoped, TimestampedModel):
    contact_list = models.ForeignKey(ContactList, on_delete=models.CASCADE,
                                     related_name="memberships")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE,
                                related_name="list_memberships")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("contact_list", "contact")
        constraints = [models.UniqueConstraint(fields=["contact_list", "contact"],
                                               name="crm_list_membership_unique")]

    def __str__(self) -> str:
        return f"{self.contact} in {self.contact_list}"

    def clean(self):
        same_workspace(self, "contact_list", "contact")


class ContactNote(WorkspaceScoped, TimestampedModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    is_pinned = models.BooleanField(default=False)

    class Meta:
        ordering = ("-is_pinned", "-created_at")

    def __str__(self) -> str:
        return self.body[:60]

    def clean(self):
        same_workspace(self, "contact")


class ContactEvent(WorkspaceScoped):
    """The contact's timeline: append-only, written by the CRM's services."""

    append_only = True

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    occurred_at = models.DateTimeField(help_text="When it happened (may precede created_at).")
    kind = models.CharField(max_length=60, help_text="e.g. call.completed, note.added.")
    summary = models.CharField(max_length=300)
    source_type = models.CharField(max_length=60, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-occurred_at", "-id")
        indexes = [models.Index(fields=["contact", "occurred_at"],
                                name="crm_contact_event_timeline")]

    def __str__(self) -> str:
        return self.summary


class ContactInteraction(WorkspaceScoped, TimestampedModel):
    """A touch point logged by a person or a channel: a meeting, an email, a message."""

    class Channel(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"
        CHAT = "chat", "Chat"
        MEETING = "meeting", "Meeting"
        OTHER = "other", "Other"

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="interactions")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices,
                                 default=Direction.OUTBOUND)
    occurred_at = models.DateTimeField()
    summary = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=60, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True, validators=[validate_object])

    class Meta:
        ordering = ("-occurred_at",)

    def __str__(self) -> str:
        return f"{self.get_channel_display()} with {self.contact}"

    def clean(self):
        same_workspace(self, "contact")


class Customer(WorkspaceScoped, TimestampedModel):
    """A contact who bought: when, and for how much."""

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="customer")
    converted_at = models.DateTimeField()
    value = models.BigIntegerField(default=0, validators=[MinValueValidator(0)],
                                   help_text="Deal value in minor units (cents).")
    currency = models.CharField(max_length=3, default="USD")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ("-converted_at",)

    def __str__(self) -> str:
        return str(self.contact)

    def clean(self):
        same_workspace(self, "contact")


class ConversionJourney(WorkspaceScoped, TimestampedModel):
    """A contact's way from lead to customer: the stage now and when each was reached."""

    class Stage(models.TextChoices):
        LEAD = "lead", "Lead"
        CONTACTED = "contacted", "Contacted"
        QUALIFIED = "qualified", "Qualified"
        OPPORTUNITY = "opportunity", "Opportunity"
        CUSTOMER = "customer", "Customer"
        LOST = "lost", "Lost"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="journeys")
    campaign = models.ForeignKey("crm.Campaign", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="journeys")
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.LEAD)
    stages = models.JSONField(default=dict, blank=True, validators=[validate_object],
                              help_text="{stage: ISO time reached}.")
    converted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.contact}: {self.get_stage_display()}"

    def clean(self):
        same_workspace(self, "contact", "campaign")

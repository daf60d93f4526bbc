"""Scheduled business reports: what to build (definitions), each build (runs), each send.

A definition's schedule is a django-celery-beat ``PeriodicTask`` kept in step
with its cron fields by ``reports.services.definitions``; staff edit it on the
definition.  A scheduled run is unique per definition and slot (the schedule
time it is for), a delivery per run, recipient and channel: that is how a
duplicated beat tick or a redelivered task never builds or sends twice.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from accounts.validators import validate_timezone
from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped
from workspaces.queries import is_member

from . import kinds, schedule
from .parameters import parameters_validate


def _artefact_path(run: ReportRun, filename: str) -> str:
    return f"reports/{run.workspace_id}/{run.pk}/{filename}"


def validate_parameters(value) -> None:
    parameters_validate(value)


class ReportDefinition(WorkspaceScoped, TimestampedModel):
    """A report to build on a schedule (or on demand) and email to its recipients."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=40, choices=kinds.CHOICES)
    parameters = models.JSONField(
        default=dict, blank=True, validators=[validate_parameters],
        help_text="Filters and options, e.g. {\"period\": \"previous_month\", \"states\": "
                  "[\"PR\"], \"grouping\": \"month\"}; every key is listed in reports.parameters.")
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+",
        help_text="Members of the workspace who receive each run by email.")
    output_csv = models.BooleanField(default=True,
                                     help_text="Produce and attach a CSV file per table.")
    output_xlsx = models.BooleanField(default=True,
                                      help_text="Produce and attach an XLSX workbook.")
    skip_when_empty = models.BooleanField(
        default=False, help_text="Send nothing when the report has no data (the run is "
                                 "kept, with status skipped).")
    schedule_cron = models.CharField(
        max_length=100, blank=True, validators=[schedule.validate_cron],
        help_text="minute hour day-of-month month day-of-week, e.g. \"0 7 1 * *\" (07:00 on "
                  "the 1st). Blank: on demand only.")
    schedule_timezone = models.CharField(max_length=64, default="UTC",
                                         validators=[validate_timezone],
                                         help_text="Time zone of the schedule, e.g. "
                                                   "America/Sao_Paulo.")
    enabled = models.BooleanField(default=True, help_text="Scheduled runs happen only while "
                                                          "enabled.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              help_text="Told by email when a run fails.")
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, editable=False,
        on_delete=models.SET_NULL, related_name="+",
        help_text="The beat entry that fires scheduled runs (kept in step by the service).")

    class Meta:
        ordering = ("name", "id")
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="reports_definition_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        super().clean()
        if self.owner_id and self.workspace_id and not is_member(self.owner_id,
                                                                 self.workspace_id):
            raise ValidationError({"owner": "The owner must be a member of the workspace."})

    @property
    def is_scheduled(self) -> bool:
        return bool(self.enabled and self.schedule_cron)

    def cron(self) -> schedule.Cron:
        return schedule.parse(self.schedule_cron, self.schedule_timezone)

    def next_run_at(self, after: datetime | None = None) -> datetime | None:
        """When beat next fires this definition (``None``: not scheduled)."""
        if not self.is_scheduled:
            return None
        try:
            return schedule.next_fire(self.cron(), after or timezone.now())
        except ValueError:
            return None


class ReportRun(WorkspaceScoped, TimestampedModel):
    """One build of a definition: the parameters used, the HTML and files, and its fate."""

    append_only = True  # written by the generator only

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        SKIPPED = "skipped", "Skipped (no data, not sent)"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Run now (admin)"
        API = "api", "API"

    FINISHED = (Status.SUCCEEDED, Status.SKIPPED, Status.FAILED)

    definition = models.ForeignKey(ReportDefinition, on_delete=models.CASCADE,
                                   related_name="runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    slot = models.DateTimeField(null=True, blank=True,
                                help_text="The schedule time a scheduled run is for; empty "
                                          "for runs started by hand.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    parameters = models.JSONField(default=dict, blank=True,
                                  help_text="The parameters used (periods resolved to dates).")
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    row_count = models.PositiveIntegerField(default=0, help_text="Rows over all tables.")
    html = models.TextField(blank=True, help_text="The report page (inline SVG charts).")
    email_html = models.TextField(blank=True,
                                  help_text="The page as emailed (charts as inline PNG).")
    charts_file = models.FileField(upload_to=_artefact_path, max_length=500, blank=True,
                                   help_text="The charts as PNG (a ZIP), for the emails.")
    csv_file = models.FileField(upload_to=_artefact_path, max_length=500, blank=True,
                                help_text="A CSV per table (a ZIP).")
    xlsx_file = models.FileField(upload_to=_artefact_path, max_length=500, blank=True)
    error = models.TextField(blank=True)
    failure_notified_at = models.DateTimeField(null=True, blank=True,
                                               help_text="When the owner was told it failed.")
    delivered_to = models.JSONField(default=list, blank=True,
                                    help_text="Addresses the report was sent to.")
    skipped_recipients = models.JSONField(
        default=list, blank=True,
        help_text="Recipients the run did not send to, each {\"user\": id, \"email\": ..., "
                  "\"reason\": ...}; reasons: opted_out (receive_email is off), inactive, "
                  "no_email, not_member.")

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            # The exactly-once guard: one scheduled run per definition and schedule time.
            models.UniqueConstraint(fields=["definition", "slot"],
                                    condition=models.Q(slot__isnull=False),
                                    name="reports_run_once_per_slot"),
        ]
        indexes = [models.Index(fields=["definition", "created_at"],
                                name="reports_run_history_idx")]

    def __str__(self) -> str:
        return f"{self.definition} run #{self.pk}"

    def save(self, *args, **kwargs):
        if self.definition_id and not self.workspace_id:
            self.workspace_id = self.definition.workspace_id
        super().save(*args, **kwargs)

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class ReportDelivery(WorkspaceScoped, TimestampedModel):
    """One run sent to one recipient through one channel; retried with backoff on failure."""

    append_only = True  # written by the sender only

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(ReportRun, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    address = models.EmailField(help_text="Where it was sent (the recipient's email then).")
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Why the last attempt failed.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="Who sent it by hand (\"send to this user\"); empty "
                                    "when it went to the report's recipients.")
    overrode_opt_out = models.BooleanField(
        default=False, help_text="Sent by hand to someone who opted out of report emails "
                                 "(receive_email off).")

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name_plural = "report deliveries"
        constraints = [
            # A retried or duplicated task finds the row and never sends twice.
            models.UniqueConstraint(fields=["run", "recipient", "channel"],
                                    name="reports_delivery_once_per_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.run} to {self.address}"

    def save(self, *args, **kwargs):
        if self.run_id and not self.workspace_id:
            self.workspace_id = self.run.workspace_id
        super().save(*args, **kwargs)

"""Metrics over events, dashboards of widgets charting them, and event exports.

A ``Metric`` is a definition (what to aggregate over which events); its numbers are
computed on read by ``analytics.queries.metrics`` (dashboards) and never stored.  An
``Export`` is a Celery job writing the matching events to CSV or Parquet."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped

from .common import same_workspace, validate_list


class Metric(WorkspaceScoped, TimestampedModel):
    """An aggregate over one event name: count, unique people, sum or percentile of a
    numeric property, with property filters (``[{"property", "op", "value"}]``)."""

    class Kind(models.TextChoices):
        COUNT = "count", "Count of events"
        UNIQUE = "unique", "Unique people (distinct_id) or values of a property"
        SUM = "sum", "Sum of a numeric property"
        AVERAGE = "average", "Average of a numeric property"
        PERCENTILE = "percentile", "Percentile of a numeric property"

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    event_name = models.CharField(max_length=200, help_text="The events it aggregates.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.COUNT)
    property = models.CharField(
        max_length=200, blank=True,
        help_text="The event property summed, averaged or ranked (required for those "
                  "kinds); for unique, empty counts people (distinct_id).")
    percentile = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="For percentile: 0-100 (50 is the median).")
    filters = models.JSONField(
        default=list, blank=True, validators=[validate_list],
        help_text='Conditions on properties, all of which must hold: [{"property": '
                  '"plan", "op": "eq", "value": "pro"}]; ops: eq, neq, gt, gte, lt, lte, '
                  'contains, exists.')

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="analytics_metric_unique_name")]

    def __str__(self) -> str:
        return self.name


class Dashboard(WorkspaceScoped, TimestampedModel):
    """A page of widgets; every widget charts one metric over the same date range."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    range_days = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(3660)],
        help_text="Days shown by default, up to today.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="analytics_dashboard_unique_name")]

    def __str__(self) -> str:
        return self.name


class DashboardWidget(WorkspaceScoped, TimestampedModel):
    """One chart of a dashboard: a metric by time bucket, optionally broken down by a
    property (one series per value, the largest ``breakdown_limit``)."""

    class Chart(models.TextChoices):
        LINE = "line", "Line"
        BAR = "bar", "Bars"
        NUMBER = "number", "Single number"
        TABLE = "table", "Table"

    class Interval(models.TextChoices):
        HOUR = "hour", "Hour"
        DAY = "day", "Day"
        WEEK = "week", "Week"
        MONTH = "month", "Month"

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="widgets")
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="widgets")
    title = models.CharField(max_length=120, blank=True)
    chart = models.CharField(max_length=16, choices=Chart.choices, default=Chart.LINE)
    interval = models.CharField(max_length=8, choices=Interval.choices, default=Interval.DAY)
    breakdown_property = models.CharField(max_length=200, blank=True)
    breakdown_limit = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(50)])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("dashboard", "position", "id")

    def __str__(self) -> str:
        return self.title or str(self.metric)

    def clean(self):
        same_workspace(self, "dashboard", "metric")


def _export_upload_to(instance, filename: str) -> str:
    return f"exports/{instance.workspace_id}/{filename}"


class Export(WorkspaceScoped, TimestampedModel):
    """Events matching a filter written to a CSV or Parquet file on the worker."""

    # An export is a job: asked for, read, removed; changing one after the fact means
    # nothing (ask for another).
    api_operations = ("list", "retrieve", "create", "delete")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        PARQUET = "parquet", "Parquet"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    format = models.CharField(max_length=8, choices=Format.choices, default=Format.CSV)
    event_name = models.CharField(max_length=200, blank=True, help_text="Empty: every event.")
    filters = models.JSONField(default=list, blank=True, validators=[validate_list],
                               help_text="Property conditions, as on a metric.")
    date_from = models.DateTimeField(null=True, blank=True)
    date_to = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED,
                              editable=False)
    file = models.FileField(upload_to=_export_upload_to, max_length=500, blank=True,
                            editable=False)
    row_count = models.PositiveBigIntegerField(default=0, editable=False)
    error = models.TextField(blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.get_format_display()} export {self.pk or ''}".strip()

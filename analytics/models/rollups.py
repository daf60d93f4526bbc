"""Rollups of events computed by beat (idempotent per day, recomputable for a range):
business metrics per day, each person's behaviour per day and their running insight.
They replace the predecessor's ``business_metrics``, ``user_behavior_metrics`` and
``user_insights``.  Written only by ``analytics.services.rollups``."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from core.tenancy import WorkspaceScoped

from .common import validate_object


class BusinessMetric(WorkspaceScoped):
    """One named figure of one workspace for one UTC day (e.g. ``events``,
    ``active_people``, ``executions_succeeded``, ``revenue``)."""

    append_only = True

    day = models.DateField()
    name = models.CharField(max_length=120)
    value = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    unit = models.CharField(max_length=16, blank=True, help_text='e.g. "count" or "EUR".')
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ("-day", "name")
        constraints = [models.UniqueConstraint(fields=["workspace", "day", "name"],
                                               name="analytics_business_metric_unique")]

    def __str__(self) -> str:
        return f"{self.day} {self.name}: {self.value}"


class UserBehaviorMetric(WorkspaceScoped):
    """One person's (distinct_id) activity in one workspace on one UTC day."""

    append_only = True

    day = models.DateField()
    distinct_id = models.CharField(max_length=200)
    events = models.PositiveIntegerField(default=0)
    sessions = models.PositiveIntegerField(default=0, help_text="Distinct session ids.")
    distinct_event_names = models.PositiveIntegerField(default=0)
    first_event_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ("-day", "distinct_id")
        constraints = [models.UniqueConstraint(fields=["workspace", "day", "distinct_id"],
                                               name="analytics_behavior_unique")]

    def __str__(self) -> str:
        return f"{self.day} {self.distinct_id}: {self.events} events"


class UserInsight(WorkspaceScoped):
    """What is known of one person over all their days: first and last seen, active days,
    total events, their most frequent events."""

    append_only = True

    distinct_id = models.CharField(max_length=200)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    active_days = models.PositiveIntegerField(default=0)
    total_events = models.PositiveBigIntegerField(default=0)
    top_events = models.JSONField(default=dict, blank=True, validators=[validate_object],
                                  help_text="Event name: count, the ten most frequent.")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ("-last_seen",)
        constraints = [models.UniqueConstraint(fields=["workspace", "distinct_id"],
                                               name="analytics_insight_unique")]

    def __str__(self) -> str:
        return self.distinct_id

"""Call analytics and user KPI rollups: what the predecessor's 54 triggers and
materialized views kept up to date row by row, computed instead by beat per workspace,
UTC day and agent (``CallDailyMetric``) or CRM user (``UserDailyKpi``) in
``crm.services.rollups``, idempotent per day and recomputable for any date range."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.tenancy import WorkspaceScoped


class CallDailyMetric(WorkspaceScoped):
    """One workspace's calls of one UTC day by one agent.  ``agent`` is null on the row
    of the day's calls that had no agent (never an "all agents" total: totals are sums
    of the rows).  Written only by the rollup service (append-only for admin and API)."""

    append_only = True

    day = models.DateField(help_text="UTC day the calls were created on.")
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="+", help_text="Empty: calls without an agent.")
    calls = models.PositiveIntegerField(default=0)
    connected = models.PositiveIntegerField(default=0, help_text="Calls that were answered "
                                            "(completed).")
    total_duration_seconds = models.PositiveBigIntegerField(default=0)
    avg_duration_seconds = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0"),
        help_text="Average duration of the connected calls.")
    cost = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    credits = models.DecimalField(max_digits=16, decimal_places=4, default=Decimal("0"))
    conversions = models.PositiveIntegerField(
        default=0, help_text="Contacts converted that day whose latest completed call "
                             "before converting was this agent's.")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ("-day", "agent_id")
        constraints = [
            # PostgreSQL treats NULLs as distinct: one constraint for agent rows, one for
            # the "no agent" row, so a day never holds two of either.
            models.UniqueConstraint(fields=["workspace", "day", "agent"],
                                    condition=Q(agent__isnull=False),
                                    name="crm_call_metric_unique_agent"),
            models.UniqueConstraint(fields=["workspace", "day"],
                                    condition=Q(agent__isnull=True),
                                    name="crm_call_metric_unique_no_agent"),
        ]
        indexes = [models.Index(fields=["workspace", "day"], name="crm_call_metric_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.agent or 'no agent'}: {self.calls} calls"

    @property
    def connect_rate(self) -> Decimal:
        """Connected / calls (0..1, four decimals); 0 on a day without calls."""
        if not self.calls:
            return Decimal("0")
        return (Decimal(self.connected) / Decimal(self.calls)).quantize(Decimal("0.0001"))


class UserDailyKpi(WorkspaceScoped):
    """One CRM user's day (the predecessor's ``user_daily_analytics`` and
    ``user_kpi_summary``, per user of the workspace rather than per account).  A call
    counts for the user who placed it, else for its contact's owner (campaign and inbound
    calls have no placer); follow-ups for their assignee; ``user`` is null on the row of
    what belongs to nobody.  Written only by the rollup service (append-only for admin
    and API)."""

    append_only = True

    day = models.DateField(help_text="UTC day.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+",
                             help_text="Empty: calls and follow-ups of nobody.")
    calls = models.PositiveIntegerField(default=0, help_text="Calls created that day.")
    connected = models.PositiveIntegerField(default=0, help_text="Calls that were answered "
                                            "(completed).")
    talk_time_seconds = models.PositiveBigIntegerField(
        default=0, help_text="Duration of the connected calls, summed.")
    conversions = models.PositiveIntegerField(
        default=0, help_text="Contacts converted that day whose latest completed call "
                             "before converting counted for this user.")
    follow_ups_done = models.PositiveIntegerField(default=0, help_text="Follow-ups completed "
                                                  "that day.")
    follow_ups_overdue = models.PositiveIntegerField(
        default=0, help_text="Follow-ups due that day not done by their due time (cancelled "
                             "ones excepted).")
    cost = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    credits = models.DecimalField(max_digits=16, decimal_places=4, default=Decimal("0"))
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ("-day", "user_id")
        verbose_name = "user daily KPI"
        verbose_name_plural = "user daily KPIs"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "day", "user"],
                                    condition=Q(user__isnull=False),
                                    name="crm_user_kpi_unique_user"),
            models.UniqueConstraint(fields=["workspace", "day"],
                                    condition=Q(user__isnull=True),
                                    name="crm_user_kpi_unique_no_user"),
        ]
        indexes = [models.Index(fields=["workspace", "day"], name="crm_user_kpi_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.user or 'nobody'}: {self.calls} calls"

    @property
    def connect_rate(self) -> Decimal:
        """Connected / calls (0..1, four decimals); 0 on a day without calls."""
        if not self.calls:
            return Decimal("0")
        return (Decimal(self.connected) / Decimal(self.calls)).quantize(Decimal("0.0001"))

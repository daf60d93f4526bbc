"""The CRM's settings of one workspace: which agent (if any) refines lead scores, and how
far it may move them."""

from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models

from core.models import TimestampedModel
from core.tenancy import ADMIN, WorkspaceScoped

from .common import same_workspace

#: How far an agent may move a rules score by default (points, either way).
DEFAULT_MAX_ADJUSTMENT = 15
MAX_ADJUSTMENT_LIMIT = 50


class CrmSettings(WorkspaceScoped, TimestampedModel):
    """One row per workspace (admins change it); no row means the defaults: rules-only
    lead scores."""

    tenancy_write_role = ADMIN

    lead_score_agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="An agent asked to refine each new rules score from the contact's calls, "
                  "transcripts and timeline. Empty: scores come from the rules only.")
    lead_score_max_adjustment = models.PositiveSmallIntegerField(
        default=DEFAULT_MAX_ADJUSTMENT, validators=[MaxValueValidator(MAX_ADJUSTMENT_LIMIT)],
        help_text="The agent's score is held within this many points of the rules score "
                  f"(0 to {MAX_ADJUSTMENT_LIMIT}), then to 0..100.")

    class Meta:
        verbose_name = "CRM settings"
        verbose_name_plural = "CRM settings"
        ordering = ("workspace",)
        constraints = [models.UniqueConstraint(fields=["workspace"],
                                               name="crm_settings_one_per_workspace")]

    def __str__(self) -> str:
        return f"CRM settings of {self.workspace}"

    def clean(self):
        same_workspace(self, "lead_score_agent")

"""Rows behind live system settings and feature flags (imported by ``core.models``).

Settings and flags are *declared* in code (``core.live_settings``, ``core.flags``); these
tables only hold what staff changed, so a new declaration needs no data migration and a
removed one leaves a harmless row behind.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models

from core.models import TimestampedModel

_KEY = RegexValidator(r"^[a-z][a-z0-9_.-]*$", "Use lower-case letters, digits, '_', '.' and '-', "
                                             "starting with a letter.")


class SystemSetting(TimestampedModel):
    """The stored value of one declared live setting (``core.live_settings``).

    ``value`` null means "the declared default".  Staff change values in the admin;
    the API only reads them (``api_operations``).
    """

    api_operations = ("list", "retrieve")

    key = models.CharField(max_length=100, unique=True, validators=[_KEY])
    value = models.JSONField(null=True, blank=True,
                             help_text="Empty means the default declared in code.")

    class Meta:
        ordering = ("key",)
        verbose_name = "system setting"

    def __str__(self) -> str:
        return self.key


class FeatureFlag(TimestampedModel):
    """A global flag: off, on for a sticky share of workspaces, or on for all.

    Checked only through ``core.flags.is_active``; per-workspace and per-user
    ``FlagOverride`` rows win over ``enabled`` and ``rollout_percent``.
    """

    key = models.CharField(max_length=100, unique=True, validators=[_KEY])
    description = models.CharField(max_length=300, blank=True)
    enabled = models.BooleanField(
        default=False, help_text="Off: nobody has the flag (overrides aside).")
    rollout_percent = models.PositiveSmallIntegerField(
        default=100, validators=[MaxValueValidator(100)],
        help_text="When enabled, the share of workspaces (by a stable hash of the workspace "
                  "and the flag key, so each workspace keeps its answer) that have it.")

    class Meta:
        ordering = ("key",)
        constraints = [models.CheckConstraint(condition=models.Q(rollout_percent__lte=100),
                                              name="core_featureflag_rollout_lte_100")]

    def __str__(self) -> str:
        return self.key


class FlagOverride(TimestampedModel):
    """One workspace's or one user's own answer for a flag, whatever the rollout says."""

    flag = models.ForeignKey(FeatureFlag, on_delete=models.CASCADE, related_name="overrides")
    workspace = models.ForeignKey(settings.TENANCY_WORKSPACE_MODEL, null=True, blank=True,
                                  on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True, help_text="Why, for the next person.")

    class Meta:
        ordering = ("-id",)
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(workspace__isnull=False, user__isnull=True)
                           | models.Q(workspace__isnull=True, user__isnull=False)),
                name="core_flagoverride_one_target",
                violation_error_message="Choose a workspace or a user (exactly one)."),
            models.UniqueConstraint(fields=["flag", "workspace"],
                                    condition=models.Q(workspace__isnull=False),
                                    name="core_flagoverride_unique_workspace",
                                    violation_error_message="This workspace already has an "
                                                            "override for this flag."),
            models.UniqueConstraint(fields=["flag", "user"],
                                    condition=models.Q(user__isnull=False),
                                    name="core_flagoverride_unique_user",
                                    violation_error_message="This user already has an "
                                                            "override for this flag."),
        ]

    def __str__(self) -> str:
        target = f"workspace {self.workspace_id}" if self.workspace_id else f"user {self.user_id}"
        return f"{self.flag.key}: {target} {'on' if self.enabled else 'off'}"

from django.db import models

from core import tenancy
from core.models import TimestampedModel


class Workspace(TimestampedModel):
    """A tenant: every workspace-owned row points here (PRD 2.1.1 workspace fields)."""

    # Tenancy declarations (core.tenancy): a workspace scopes itself by its own id;
    # admins edit it, only its owner deletes it.
    tenancy_scope_field = "pk"
    tenancy_roles = {"add": tenancy.ADMIN, "change": tenancy.ADMIN, "delete": tenancy.OWNER}

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    billing_plan = models.CharField(max_length=40, default="free")
    settings = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    usage_limits = models.JSONField(default=dict, blank=True)
    features_enabled = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

"""Base models and the audit trail.

Models may declare two class attributes that the API, admin, audit trail and
sync report all read:

* ``append_only = True``: rows are written by the system only; admin and API
  offer them read-only.
* ``api_operations = ("list", "retrieve", "delete")``: the operations a
  resource offers when it is neither full CRUD nor append-only (for example
  tokens, which sign-in creates and users only revoke).
* ``sensitive_fields = ("password", ...)``: never serialised, filtered, or
  written to the audit trail in clear.
* ``catalogue = True``: global reference rows owned by no workspace (e.g. the
  workflow node types mirrored from code): readable by every signed-in user or
  API key, written by the system only (so also ``append_only``).
"""

from django.conf import settings
from django.db import models


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def is_append_only(model: type[models.Model]) -> bool:
    return bool(getattr(model, "append_only", False))


def partition_key(model: type[models.Model]) -> str | None:
    """The field a model's table is partitioned by on PostgreSQL (``partitioned_by``), if any."""
    return getattr(model, "partitioned_by", None) or None


def is_catalogue(model: type[models.Model]) -> bool:
    return bool(getattr(model, "catalogue", False))


def is_public_read(model: type[models.Model]) -> bool:
    return bool(getattr(model, "public_read", False))


def sensitive_fields(model: type[models.Model]) -> frozenset[str]:
    return frozenset(getattr(model, "sensitive_fields", ()))


class AuditEntry(models.Model):
    """One create, update or delete made through the admin or the API."""

    append_only = True

    class Action(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"
        REVEAL = "reveal", "Reveal"  # a write-only value read back on purpose

    class Source(models.TextChoices):
        ADMIN = "admin", "Admin"
        API = "api", "API"
        OTHER = "other", "Other"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who made the change; empty for anonymous or deleted users.",
    )
    actor_repr = models.CharField(max_length=254, blank=True, help_text="The actor as it was.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.OTHER)
    action = models.CharField(max_length=16, choices=Action.choices)
    target_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+"
    )
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=200)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ("-id",)
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="core_audit_target_idx"),
            models.Index(fields=["actor", "created_at"], name="core_audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.target_repr}"


# Live settings and feature flags: their own module, registered with the app from here.
from .live_models import FeatureFlag, FlagOverride, SystemSetting  # noqa: E402, F401

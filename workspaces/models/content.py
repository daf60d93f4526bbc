from django.conf import settings
from django.db import models

from core import tenancy
from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped


class Activity(WorkspaceScoped):
    """Append-only feed of what happened in a workspace."""

    append_only = True

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    verb = models.CharField(max_length=60, help_text="What happened, e.g. project.created.")
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-id",)
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["workspace", "created_at"],
                                name="workspaces_activity_feed_idx")]

    def __str__(self) -> str:
        return self.summary


class WorkspaceFeature(WorkspaceScoped, TimestampedModel):
    tenancy_write_role = tenancy.ADMIN

    key = models.SlugField(max_length=80)
    enabled = models.BooleanField(default=False)
    config = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("key",)
        constraints = [models.UniqueConstraint(fields=["workspace", "key"],
                                               name="workspaces_feature_unique_key")]

    def __str__(self) -> str:
        return f"{self.key}={'on' if self.enabled else 'off'}"


class Tag(WorkspaceScoped, TimestampedModel):
    name = models.CharField(max_length=60)
    color = models.CharField(max_length=7, default="#6b7280",
                             help_text="Hex colour, e.g. #2563eb.")

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="workspaces_tag_unique_name")]

    def __str__(self) -> str:
        return self.name


def _upload_to(instance, filename: str) -> str:
    return f"workspaces/{instance.workspace_id}/{filename}"


class File(WorkspaceScoped, TimestampedModel):
    """A stored file (Django's storage API) with the PRD 2.1.1 metadata."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"
        QUARANTINED = "quarantined", "Quarantined"

    project = models.ForeignKey("workspaces.Project", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="files")
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to=_upload_to, max_length=500)
    content_type = models.CharField(max_length=120, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the content.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    metadata = models.JSONField(default=dict, blank=True)
    access_permissions = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["workspace", "checksum"],
                                name="workspaces_file_checksum_idx")]

    def __str__(self) -> str:
        return self.name

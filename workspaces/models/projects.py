from django.conf import settings
from django.db import models

from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped


class Project(WorkspaceScoped, TimestampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    tags = models.ManyToManyField("workspaces.Tag", blank=True, related_name="projects")

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="workspaces_project_unique_name")]

    def __str__(self) -> str:
        return self.name


class ProjectVersion(WorkspaceScoped, TimestampedModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    notes = models.TextField(blank=True)
    snapshot = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("project", "-number")
        constraints = [models.UniqueConstraint(fields=["project", "number"],
                                               name="workspaces_projectversion_unique")]

    def __str__(self) -> str:
        return f"{self.project} v{self.number}"


class ProjectCollaborator(WorkspaceScoped, TimestampedModel):
    class Access(models.TextChoices):
        VIEW = "view", "View"
        EDIT = "edit", "Edit"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="collaborators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    access = models.CharField(max_length=8, choices=Access.choices, default=Access.VIEW)

    class Meta:
        ordering = ("project", "user")
        constraints = [models.UniqueConstraint(fields=["project", "user"],
                                               name="workspaces_collaborator_unique")]

    def __str__(self) -> str:
        return f"{self.user} on {self.project}"


class ProjectComment(WorkspaceScoped, TimestampedModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(max_length=10_000)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"Comment on {self.project}"

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import models

from core import tenancy
from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped


class RoleName(models.TextChoices):
    OWNER = tenancy.OWNER, "Owner"
    ADMIN = tenancy.ADMIN, "Admin"
    MEMBER = tenancy.MEMBER, "Member"
    VIEWER = tenancy.VIEWER, "Viewer"


class Role(WorkspaceScoped, TimestampedModel):
    """A custom role: Django permissions granted on top of a membership's base role."""

    tenancy_write_role = tenancy.ADMIN

    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    permissions = models.ManyToManyField(Permission, blank=True, related_name="+")

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="workspaces_role_unique_name")]

    def __str__(self) -> str:
        return self.name


class Membership(WorkspaceScoped, TimestampedModel):
    """People join through invitations and leave by deletion; the owner changes only
    through a transfer, so there is always exactly one."""

    tenancy_write_role = tenancy.ADMIN
    api_operations = ("list", "retrieve", "update", "delete")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    role = models.CharField(max_length=16, choices=RoleName.choices, default=RoleName.MEMBER)
    custom_role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="memberships")

    class Meta:
        ordering = ("workspace", "user")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"],
                                    name="workspaces_membership_unique_user"),
            models.UniqueConstraint(fields=["workspace"], condition=models.Q(role="owner"),
                                    name="workspaces_membership_one_owner",
                                    violation_error_message="A workspace has exactly one owner."),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.workspace}"


class Invitation(WorkspaceScoped, TimestampedModel):
    """An emailed invitation; only a hash of its token is stored."""

    tenancy_write_role = tenancy.ADMIN
    sensitive_fields = ("token_hash",)
    # Pending invitations are revoked or resent through actions, never edited.
    api_operations = ("list", "retrieve", "create", "delete")

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        REVOKED = "revoked", "Revoked"

    email = models.EmailField()
    role = models.CharField(max_length=16, choices=RoleName.choices, default=RoleName.MEMBER)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["workspace", "email"],
                                    condition=models.Q(status="pending"),
                                    name="workspaces_invitation_one_pending",
                                    violation_error_message="This email already has a pending "
                                                            "invitation to the workspace."),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace} ({self.status})"

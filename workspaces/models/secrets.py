from django.conf import settings
from django.db import models

from core import tenancy
from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped


class Secret(WorkspaceScoped, TimestampedModel):
    """A credential kept encrypted at rest (Fernet under SECRETS_ENCRYPTION_KEYS)."""

    tenancy_write_role = tenancy.ADMIN
    sensitive_fields = ("ciphertext",)

    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    ciphertext = models.TextField(editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="workspaces_secret_unique_name")]

    def __str__(self) -> str:
        return self.name


class SecretAccess(WorkspaceScoped):
    """Who revealed or changed a secret, when and from where (append-only)."""

    append_only = True

    class Action(models.TextChoices):
        REVEAL = "reveal", "Revealed"
        SET = "set", "Value set"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    secret = models.ForeignKey(Secret, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    api_key = models.ForeignKey("workspaces.ApiKey", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ("-id",)
        verbose_name_plural = "secret accesses"

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.secret}"

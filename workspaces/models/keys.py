from django.conf import settings
from django.db import models
from django.utils import timezone

from core import tenancy
from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped

from .membership import RoleName


class ApiKey(WorkspaceScoped, TimestampedModel):
    """A workspace API key acting with one role; the key is shown once, kept as a hash."""

    tenancy_write_role = tenancy.ADMIN
    sensitive_fields = ("hashed_key",)

    name = models.CharField(max_length=120)
    role = models.CharField(max_length=16, choices=RoleName.choices, default=RoleName.VIEWER)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("-created_at",)
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def clean(self) -> None:
        super().clean()
        if self.role == tenancy.OWNER:
            from django.core.exceptions import ValidationError

            raise ValidationError({"role": ["API keys cannot act as the owner."]})

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

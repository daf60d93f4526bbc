"""The user: email login plus the security and profile state the PRD lists (2.1.1)."""

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.managers import UserManager
from accounts.validators import validate_language, validate_timezone


class User(AbstractBaseUser, PermissionsMixin):
    """Two-factor state and backup codes live in django-otp's TOTP and static devices."""

    sensitive_fields = ("password",)
    # Bookkeeping of sign-ins; LoginAttempt rows are their record, not the audit trail.
    audit_ignore_fields = ("last_login", "login_count", "failed_login_attempts")

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PENDING = "pending", "Pending verification"
        SUSPENDED = "suspended", "Suspended"
        DEACTIVATED = "deactivated", "Deactivated"

    email = models.EmailField("email address", unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Can sign in to the back office (admin)."
    )
    is_active = models.BooleanField(
        default=True, help_text="Unset instead of deleting, to keep history intact."
    )
    date_joined = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    metadata = models.JSONField(default=dict, blank=True)
    preferences = models.JSONField(default=dict, blank=True)
    login_count = models.PositiveIntegerField(default=0)
    failed_login_attempts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(
        null=True, blank=True, help_text="Sign-in is refused until this time."
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    language = models.CharField(max_length=16, default="en", validators=[validate_language])
    avatar_url = models.URLField(max_length=500, blank=True)
    receive_email = models.BooleanField(
        default=True, help_text="Whether the user wants notification emails."
    )

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ("email",)
        indexes = [models.Index(fields=["status"], name="accounts_user_status_idx")]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                violation_error_message="A user with this email address already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = type(self).objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()

    @property
    def two_factor_enabled(self) -> bool:
        """True when the user has a confirmed one-time-password device."""
        annotated = self.__dict__.get("has_confirmed_device")
        if annotated is not None:
            return annotated
        from django_otp import user_has_device

        return user_has_device(self, confirmed=True)

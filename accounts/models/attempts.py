"""Every sign-in attempt, successful or not: the security record of an account."""

from django.conf import settings
from django.db import models


class LoginAttempt(models.Model):
    append_only = True

    class Channel(models.TextChoices):
        ADMIN = "admin", "Admin sign-in"
        API = "api", "API sign-in"
        OTP = "otp", "Two-factor code"
        PASSWORD_RESET = "password_reset", "Password reset request"

    class Reason(models.TextChoices):
        OK = "ok", "Signed in"
        BAD_CREDENTIALS = "bad_credentials", "Wrong email or password"
        LOCKED = "locked", "Account locked"
        INACTIVE = "inactive", "Account inactive"
        OTP_REQUIRED = "otp_required", "Two-factor code required"
        BAD_OTP = "bad_otp", "Wrong two-factor code"
        RESET_REQUESTED = "reset_requested", "Password reset requested"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    email = models.CharField(max_length=254, db_index=True, help_text="The email as typed.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="login_attempts")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    success = models.BooleanField(default=False)
    reason = models.CharField(max_length=20, choices=Reason.choices)

    class Meta:
        ordering = ("-id",)
        indexes = [models.Index(fields=["ip_address", "created_at"],
                                name="accounts_attempt_ip_idx")]

    def __str__(self) -> str:
        return f"{self.email} {self.get_reason_display()} at {self.created_at:%Y-%m-%d %H:%M}"

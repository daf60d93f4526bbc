"""API tokens: one per signed-in client (a "session"), stored as a hash only."""

from django.conf import settings
from django.db import models
from knox.models import AuthTokenManager
from knox.settings import CONSTANTS


class ApiToken(models.Model):
    """django-rest-knox's token (the raw value is shown once, only its SHA-512 is kept),
    plus what a user needs to recognise and revoke a session."""

    # Tokens come from sign-in, never from a create call; users list and revoke them.
    api_operations = ("list", "retrieve", "delete")
    sensitive_fields = ("digest",)

    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    token_key = models.CharField(
        max_length=CONSTANTS.MAXIMUM_TOKEN_PREFIX_LENGTH + CONSTANTS.TOKEN_KEY_LENGTH,
        db_index=True, help_text="The token's first characters, to tell tokens apart.",
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="auth_token_set")
    created = models.DateTimeField(auto_now_add=True)
    expiry = models.DateTimeField(null=True, blank=True, db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    otp_verified = models.BooleanField(
        default=False,
        help_text="Issued against a two-factor code, or upgraded by confirming a device with "
                  "it. Accounts that need a second factor can do nothing else with an "
                  "unverified token (accounts.services.two_factor).",
    )

    objects = AuthTokenManager()

    class Meta:
        ordering = ("-id",)
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.token_key}… ({self.user})"

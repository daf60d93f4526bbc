"""Per-user named values (the predecessor's ``user_variables``), usable in workflows."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from core.models import TimestampedModel

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


class UserVariable(TimestampedModel):
    """A value a user keeps under a name, read by their own workflow runs as
    ``{{ vars.NAME }}``.

    A secret's value lives only in ``ciphertext`` (the vault's key ring, rotated by
    ``manage.py rotate_secrets``) and ``value`` stays empty: it is write-only in the
    API and admin and read back only through the audited reveal.  Written only through
    ``accounts.services.variables``.
    """

    sensitive_fields = ("ciphertext",)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="variables")
    name = models.CharField(
        max_length=120,
        validators=[RegexValidator(NAME_PATTERN, "Use letters, digits and '_', not starting "
                                                 "with a digit (like an environment variable).")])
    value = models.TextField(blank=True, max_length=20_000,
                             help_text="The value; always empty for secrets (write-only).")
    ciphertext = models.TextField(blank=True, editable=False)
    description = models.CharField(max_length=300, blank=True)
    is_secret = models.BooleanField(
        default=False, help_text="Encrypted at rest, never shown back, redacted from runs.")

    class Meta:
        ordering = ("name",)
        constraints = [models.UniqueConstraint(fields=["user", "name"],
                                               name="accounts_uservariable_unique_name")]

    def __str__(self) -> str:
        return self.name

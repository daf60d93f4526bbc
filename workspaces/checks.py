"""Deployment check: the secrets vault needs real keys outside DEBUG."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def vault_keys_configured(app_configs, **kwargs):
    keys = [k for k in settings.SECRETS_ENCRYPTION_KEYS if k]
    if not keys:
        return [Error("SECRETS_ENCRYPTION_KEYS is empty: secrets would be encrypted with a "
                      "key derived from SECRET_KEY.",
                      hint="Generate one with `python -c 'from cryptography.fernet import "
                           "Fernet; print(Fernet.generate_key().decode())'`.",
                      id="workspaces.E001")]
    errors = []
    for n, key in enumerate(keys):
        try:
            Fernet(key.encode())
        except ValueError:
            errors.append(Error(f"SECRETS_ENCRYPTION_KEYS entry {n + 1} is not a Fernet key.",
                                id="workspaces.E002"))
    return errors

"""The secrets vault: Fernet encryption at rest, rotation, audited reveals."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from workspaces.models import Secret, SecretAccess

#: Other apps' secrets under the same key ring: (what, re-encrypt function returning a count).
_reencryptors: list[tuple[str, object]] = []


def register_reencryptor(what: str, reencrypt) -> None:
    """Have ``rotate_secrets`` also call ``reencrypt()`` (returning how many rows it rewrote)
    for ``what`` (e.g. "webhook endpoint secret"), so no app's secrets are left on an old key."""
    if all(name != what for name, _ in _reencryptors):
        _reencryptors.append((what, reencrypt))


def reencryptors() -> list[tuple[str, object]]:
    return list(_reencryptors)


def _keys() -> list[bytes]:
    keys = [k.encode() for k in settings.SECRETS_ENCRYPTION_KEYS if k]
    if keys:
        return keys
    if not settings.DEBUG and not getattr(settings, "SECRETS_ALLOW_DERIVED_KEY", False):
        raise ImproperlyConfigured("Set SECRETS_ENCRYPTION_KEYS (Fernet keys, newest first).")
    # Development only: a stable key derived from SECRET_KEY.
    digest = hashlib.sha256(f"vault:{settings.SECRET_KEY}".encode()).digest()
    return [base64.urlsafe_b64encode(digest)]


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(k) for k in _keys()])


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("A secret cannot be decrypted with the configured keys; "
                                   "was a key removed before rotate_secrets ran?") from exc


def secret_create(*, workspace, name: str, value: str, description: str = "", by=None) -> Secret:
    secret = Secret(workspace=workspace, name=name, description=description,
                    ciphertext=encrypt(value), created_by=by if getattr(by, "pk", None) else None)
    secret.full_clean(exclude=["ciphertext"])
    secret.save()
    return secret


def secret_set_value(*, secret: Secret, value: str, principal=None, ip=None) -> Secret:
    with transaction.atomic():
        secret.ciphertext = encrypt(value)
        secret.rotated_at = timezone.now()
        secret.save(update_fields=["ciphertext", "rotated_at", "updated_at"])
        _access(secret, SecretAccess.Action.SET, principal, ip)
    return secret


def secret_reveal(*, secret: Secret, principal, ip=None) -> str:
    value = decrypt(secret.ciphertext)
    _access(secret, SecretAccess.Action.REVEAL, principal, ip)
    return value


def _access(secret, action, principal, ip):
    SecretAccess.objects.create(
        workspace_id=secret.workspace_id, secret=secret, action=action, ip_address=ip,
        user=getattr(principal, "user", None), api_key=getattr(principal, "api_key", None))


def secrets_rotate(*, batch_size: int = 500) -> int:
    """Re-encrypt every secret under the newest key; returns how many were rewritten."""
    fernet = _fernet()
    done = 0
    ids = list(Secret.objects.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            for secret in Secret.objects.select_for_update().filter(
                    id__in=ids[start:start + batch_size]):
                secret.ciphertext = fernet.rotate(secret.ciphertext.encode()).decode()
                secret.save(update_fields=["ciphertext"])
                done += 1
    return done

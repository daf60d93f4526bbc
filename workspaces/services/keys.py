"""Workspace API keys: shown once, stored as SHA-256 (the key itself is 256 random bits)."""

import hashlib
import hmac
import secrets

from django.utils import timezone

from workspaces.models import ApiKey

KEY_SCHEME = "Api-Key"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(*, workspace, name: str, role: str, expires_at=None, by=None):
    """Returns ``(key, raw)``; ``raw`` (``<prefix>.<secret>``) is never stored.

    ``ApiKey.clean`` refuses the owner role (here and on any later update)."""
    prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    key = ApiKey(workspace=workspace, name=name, role=role, prefix=prefix,
                 hashed_key=_hash(secret), expires_at=expires_at,
                 created_by=by if getattr(by, "pk", None) else None)
    key.full_clean(exclude=["prefix", "hashed_key"])
    key.save()
    return key, f"{prefix}.{secret}"


def limits_for_minted_key(minting_key: ApiKey, data: dict) -> dict:
    """A key made by a key never outranks or outlives it."""
    from django.core.exceptions import ValidationError

    from core import tenancy

    if tenancy.RANK[data.get("role", "viewer")] > tenancy.RANK[minting_key.role]:
        raise ValidationError({"role": ["A key cannot create a key with a higher role."]})
    expiry = data.get("expires_at")
    if minting_key.expires_at is not None and (expiry is None or expiry > minting_key.expires_at):
        data = {**data, "expires_at": minting_key.expires_at}
    return data


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated_at"])
    return key


def api_key_authenticate(raw: str) -> ApiKey | None:
    prefix, _, secret = (raw or "").partition(".")
    if not prefix or not secret:
        return None
    key = ApiKey.objects.select_related("workspace").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.hashed_key, _hash(secret)):
        return None
    if not key.is_usable:
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key

"""Workspace API keys: shown once, stored as SHA-256 (the key itself is 256 random bits)."""

import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from workspaces.models import ApiKey

KEY_SCHEME = "Api-Key"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


#: The model's default, so the API, the admin and callers of this service agree.
DEFAULT_ROLE = ApiKey._meta.get_field("role").default


class KeyRuleError(Exception):
    """A change an API key may not make; ``code`` is stable for clients."""

    def __init__(self, code: str, field: str, message: str):
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


def api_key_create(*, workspace, name: str, role: str = DEFAULT_ROLE, expires_at=None, by=None):
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

    if tenancy.RANK[data.get("role", DEFAULT_ROLE)] > tenancy.RANK[minting_key.role]:
        raise ValidationError({"role": ["A key cannot create a key with a higher role."]})
    expiry = data.get("expires_at")
    if minting_key.expires_at is not None and (expiry is None or expiry > minting_key.expires_at):
        data = {**data, "expires_at": minting_key.expires_at}
    return data


def api_key_update(*, key: ApiKey, changes: dict, acting_key: ApiKey | None = None) -> ApiKey:
    """Applies ``changes`` (name, role, expires_at) to ``key``.

    ``acting_key`` is the API key making the request, if any. A key's powers are
    bounded by its creator's, and keys made by keys are capped at their creator's
    expiry; so through a key an expiry may only move earlier (never to "never").
    That one rule keeps the acting key, and any key it made, within its own life
    without tracking who made what. A signed-in user with the role may extend.
    """
    if acting_key is not None:
        _check_change_by_key(key, changes, acting_key)
    for name, value in changes.items():
        setattr(key, name, value)
    key.full_clean(exclude=["prefix", "hashed_key"])
    with transaction.atomic():
        key.save()
    return key


def _check_change_by_key(key: ApiKey, changes: dict, acting_key: ApiKey) -> None:
    from core import tenancy

    role = changes.get("role", key.role)
    if role != key.role and tenancy.RANK[role] > tenancy.RANK[acting_key.role]:
        raise KeyRuleError("key_role_above_own", "role",
                           "An API key cannot give a key a higher role than its own.")
    if "expires_at" not in changes:
        return
    new, current = changes["expires_at"], key.expires_at
    if new == current:
        return
    if new is None or (current is not None and new > current):
        raise KeyRuleError(
            "key_expiry_extension", "expires_at",
            "Through an API key, a key's expiry can only move earlier, never later or away. "
            "A workspace admin signed in as a user can extend it.")


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

"""Signing secrets: made, checked, kept encrypted with the vault's key ring, and used to
sign per the Standard Webhooks spec (the ``standardwebhooks`` library, so receivers verify
with the same code).

A secret is ``whsec_`` and the base64 of 32 random bytes.  During a rotation's grace
period a message carries two signatures, space-separated in ``webhook-signature``: the
spec's way to let receivers switch secrets without dropping messages.
"""

from __future__ import annotations

import base64
import binascii
import secrets as random_secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from standardwebhooks import Webhook

from workspaces.services import vault  # the one key ring for secrets at rest

from ..models import WebhookEndpoint

PREFIX = "whsec_"
SECRET_BYTES = 32
MIN_BYTES, MAX_BYTES = 24, 64


def secret_new() -> str:
    return PREFIX + base64.b64encode(random_secrets.token_bytes(SECRET_BYTES)).decode()


def secret_check(value: str) -> str:
    """``value`` if it is a usable secret (``whsec_`` + base64 of 24 to 64 bytes)."""
    problem = ValidationError({"secret": [
        f"A secret is '{PREFIX}' followed by the base64 of {MIN_BYTES} to {MAX_BYTES} random "
        f"bytes; leave it out to have one made."]})
    if not isinstance(value, str) or not value.startswith(PREFIX):
        raise problem
    try:
        raw = base64.b64decode(value[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise problem from None
    if not MIN_BYTES <= len(raw) <= MAX_BYTES:
        raise problem
    return value


def encrypt(secret: str) -> str:
    return vault.encrypt(secret)


def current_secret(endpoint: WebhookEndpoint) -> str:
    return vault.decrypt(endpoint.secret_ciphertext)


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    found = [current_secret(endpoint)]
    if endpoint.previous_secret_ciphertext and endpoint.previous_secret_expires_at and \
            now < endpoint.previous_secret_expires_at:
        found.append(vault.decrypt(endpoint.previous_secret_ciphertext))
    return found


def signature(secrets: list[str], message_id: str, timestamp: datetime, body: str) -> str:
    """The ``webhook-signature`` value: ``v1,<base64>`` per secret, space-separated."""
    return " ".join(Webhook(s).sign(message_id, timestamp, body) for s in secrets)


def secrets_reencrypt(*, batch_size: int = 500) -> int:
    """Re-encrypt every endpoint's secrets under the newest vault key (``rotate_secrets``);
    returns how many endpoints were rewritten."""
    ids = list(WebhookEndpoint.objects.order_by("id").values_list("id", flat=True))
    done = 0
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            for endpoint in WebhookEndpoint.objects.select_for_update().filter(
                    id__in=ids[start:start + batch_size]):
                endpoint.secret_ciphertext = encrypt(current_secret(endpoint))
                if endpoint.previous_secret_ciphertext:
                    endpoint.previous_secret_ciphertext = encrypt(
                        vault.decrypt(endpoint.previous_secret_ciphertext))
                endpoint.save(update_fields=["secret_ciphertext",
                                             "previous_secret_ciphertext"])
                done += 1
    return done

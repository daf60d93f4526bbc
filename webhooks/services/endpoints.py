"""Endpoints: create, update, rotate the secret, enable, disable.

The URL passes the outbound guard (``core.outbound.check_url``) when set: an internal
address (loopback, private, link-local where cloud metadata answers, ...) is a 400 naming
``url``, unless the host is in ``WEBHOOKS_ALLOWED_HOSTS``.  A name that does not resolve
(yet) is accepted: its deliveries fail and are retried, and the guard runs again before
every request, so a name later pointed at an internal address is refused then.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import outbound

from .. import conf
from ..models import WebhookEndpoint
from . import delivery, signing
from .access import require, require_in_workspace

EDITABLE = ("url", "description", "event_types", "ordered", "owner")
#: ``owner`` left out: the user creating the endpoint (``owner=None``: nobody).
CALLER = object()


def url_check(url: str) -> None:
    """400 on ``url`` if the outbound guard refuses it."""
    try:
        outbound.check_url(url, allowed_hosts=conf.get("WEBHOOKS_ALLOWED_HOSTS"),
                           setting="WEBHOOKS_ALLOWED_HOSTS")
    except outbound.OutboundRefused as exc:
        raise ValidationError({"url": [exc.message]}) from None
    except outbound.OutboundError:
        pass  # does not resolve now: deliveries retry, and check again each time


def _principal_user(principal):
    user = getattr(principal, "user", None)
    return user if getattr(user, "pk", None) else None


def endpoint_create(*, workspace, url: str, description: str = "", event_types=(),
                    ordered: bool = False, owner=CALLER, secret: str | None = None,
                    principal=None) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its secret (made unless given): the only time the
    secret is returned with the endpoint."""
    require_in_workspace(principal, workspace)
    secret = signing.secret_check(secret) if secret else signing.secret_new()
    endpoint = WebhookEndpoint(
        workspace=workspace, url=url, description=description,
        event_types=list(event_types or []), ordered=ordered,
        owner=_principal_user(principal) if owner is CALLER else owner,
        secret_ciphertext=signing.encrypt(secret))
    endpoint.full_clean(exclude=["secret_ciphertext", "previous_secret_ciphertext"])
    url_check(endpoint.url)
    endpoint.save()
    return endpoint, secret


def endpoint_update(*, endpoint: WebhookEndpoint, principal=None, **changes) -> WebhookEndpoint:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    require(principal, endpoint)
    url_changed = "url" in changes and changes["url"] != endpoint.url
    for name, value in changes.items():
        setattr(endpoint, name, value)
    endpoint.full_clean(exclude=["secret_ciphertext", "previous_secret_ciphertext"])
    if url_changed:
        url_check(endpoint.url)
    endpoint.save()
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, secret: str | None = None,
                           grace_seconds: int | None = None, principal=None,
                           now=None) -> tuple[WebhookEndpoint, str]:
    """A new secret (returned once); the current one keeps signing beside it for
    ``grace_seconds`` (``WEBHOOKS_ROTATION_GRACE_SECONDS``; 0: stops at once)."""
    require(principal, endpoint)
    new = signing.secret_check(secret) if secret else signing.secret_new()
    grace = conf.get("WEBHOOKS_ROTATION_GRACE_SECONDS") if grace_seconds is None \
        else grace_seconds
    if not 0 <= grace <= 30 * 24 * 3600:
        raise ValidationError({"grace_seconds": ["Between 0 and 30 days (2592000)."]})
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret_ciphertext = endpoint.secret_ciphertext if grace else ""
        endpoint.previous_secret_expires_at = now + timedelta(seconds=grace) if grace else None
        endpoint.secret_ciphertext = signing.encrypt(new)
        endpoint.secret_rotated_at = now
        endpoint.save(update_fields=["previous_secret_ciphertext", "previous_secret_expires_at",
                                     "secret_ciphertext", "secret_rotated_at", "updated_at"])
    return endpoint, new


def endpoint_enable(*, endpoint: WebhookEndpoint, principal=None) -> WebhookEndpoint:
    """Enabled again with a clean failure streak; deliveries left waiting resume."""
    require(principal, endpoint)
    endpoint.is_enabled, endpoint.disabled_at, endpoint.disabled_reason = True, None, ""
    endpoint.failure_count, endpoint.first_failure_at = 0, None
    endpoint.save(update_fields=["is_enabled", "disabled_at", "disabled_reason",
                                 "failure_count", "first_failure_at", "updated_at"])
    delivery.resume(endpoint)
    return endpoint


def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str = "", principal=None,
                     now=None) -> WebhookEndpoint:
    """Nothing is sent while disabled: new events make no deliveries, waiting ones wait."""
    require(principal, endpoint)
    if not endpoint.is_enabled:
        return endpoint
    user = _principal_user(principal)
    endpoint.is_enabled, endpoint.disabled_at = False, now or timezone.now()
    endpoint.disabled_reason = (reason or (f"Disabled by {user}." if user else
                                           "Disabled by hand."))[:300]
    endpoint.save(update_fields=["is_enabled", "disabled_at", "disabled_reason",
                                 "updated_at"])
    return endpoint

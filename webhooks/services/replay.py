"""Sending a message again, and test messages.

A replay is a new delivery of the same message: the same ``webhook-id`` (receivers that
already processed it recognise it), a fresh retry schedule, and on an ordered endpoint a
place after the deliveries already queued.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.api.errors import ApiError

from ..events import TEST_EVENT
from ..models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from . import delivery as sending
from .access import require
from .fanout import envelope

#: The most messages one "replay since" sends again.
REPLAY_MAX = 10_000


def _require_enabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.is_enabled:
        raise ApiError(409, "endpoint_disabled", "The endpoint is disabled: enable it first "
                                                 "(nothing is sent to a disabled endpoint).")


def delivery_replay(*, delivery: WebhookDelivery, principal=None) -> WebhookDelivery:
    """Send ``delivery``'s message to its endpoint again (a new delivery, same message id)."""
    require(principal, delivery)
    endpoint = delivery.endpoint
    _require_enabled(endpoint)
    with transaction.atomic():
        replay = WebhookDelivery.objects.create(
            workspace_id=delivery.workspace_id, endpoint=endpoint, message_id=delivery.message_id,
            replay_of=delivery, next_attempt_at=timezone.now())
        sending.enqueue_after_commit([replay.pk])
    return replay


def endpoint_replay_since(*, endpoint: WebhookEndpoint, since: datetime,
                          failed_only: bool = False, principal=None) -> list[WebhookDelivery]:
    """Send again every message delivered to ``endpoint`` since ``since`` (only those that
    never succeeded there, with ``failed_only``), oldest first.  Messages still on their
    way (an open delivery) are left to it."""
    require(principal, endpoint)
    _require_enabled(endpoint)
    if since is None or timezone.is_naive(since):
        raise ValidationError({"since": ["A date and time with its time zone."]})
    mine = WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, message_id=OuterRef("pk"))
    messages = (WebhookMessage.objects.filter(workspace_id=endpoint.workspace_id,
                                              created_at__gte=since)
                .filter(Exists(mine))
                .exclude(Exists(mine.filter(status__in=sending.OPEN))))
    if failed_only:
        messages = messages.exclude(Exists(mine.filter(status=WebhookDelivery.Status.SUCCEEDED)))
    ids = list(messages.order_by("id").values_list("id", flat=True)[:REPLAY_MAX + 1])
    if len(ids) > REPLAY_MAX:
        raise ValidationError({"since": [f"More than {REPLAY_MAX} messages to send again: "
                                         f"choose a later time."]})
    now = timezone.now()
    with transaction.atomic():
        replays = WebhookDelivery.objects.bulk_create([
            WebhookDelivery(workspace_id=endpoint.workspace_id, endpoint_id=endpoint.pk,
                            message_id=pk, next_attempt_at=now) for pk in ids])
        sending.enqueue_after_commit([d.pk for d in replays])
    return replays


def send_test(*, endpoint: WebhookEndpoint, principal=None) -> WebhookDelivery:
    """A ``webhooks.test`` message to ``endpoint`` alone, whatever event types it wants."""
    require(principal, endpoint)
    _require_enabled(endpoint)
    now = timezone.now()
    user = getattr(principal, "user", None)
    data = {"endpoint": endpoint.pk, "message": "Hello from Synapscale: this is a test event.",
            "sent_by": getattr(user, "pk", None)}
    with transaction.atomic():
        message = WebhookMessage.objects.create(
            workspace_id=endpoint.workspace_id, message_id=f"msg_{uuid.uuid4().hex}",
            event_type=TEST_EVENT, timestamp=now, payload=envelope(TEST_EVENT, 1, now, data))
        test = WebhookDelivery.objects.create(
            workspace_id=endpoint.workspace_id, endpoint=endpoint, message=message,
            next_attempt_at=now)
        sending.enqueue_after_commit([test.pk])
    return test

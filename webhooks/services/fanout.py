"""From a domain event to deliveries: one message, one delivery per enabled endpoint of the
event's workspace that wants the event type, queued once the rows are committed.

Every event of every workspace comes through here, so a workspace without endpoints costs
one small indexed query and nothing else.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.events import Event

from ..models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from . import delivery


def envelope(event_type: str, version: int, occurred_at, data: dict) -> dict:
    """The body: the Standard Webhooks payload shape, ``type``, ``timestamp``, ``data``."""
    return {"type": event_type, "version": version,
            "timestamp": occurred_at.isoformat().replace("+00:00", "Z"), "data": data}


def on_event(event: Event) -> None:
    """The core.events handler (subscribed in ``wiring.connect``).  "Send test event"
    does not come through here: it goes to the one endpoint asked for."""
    rows = WebhookEndpoint.objects.filter(workspace_id=event.workspace_id,
                                          is_enabled=True).values_list("id", "event_types")
    endpoint_ids = [pk for pk, types in rows if not types or event.name in types]
    if endpoint_ids:
        fan_out(event, endpoint_ids)


def fan_out(event: Event, endpoint_ids: list[int]) -> list[WebhookDelivery]:
    now = timezone.now()
    with transaction.atomic():
        message, created = WebhookMessage.objects.get_or_create(
            message_id=f"msg_{event.id}",
            defaults={"workspace_id": event.workspace_id, "event_type": event.name,
                      "event_id": event.id, "timestamp": event.occurred_at,
                      "payload": envelope(event.name, event.version, event.occurred_at,
                                          event.payload)})
        if not created:
            return []  # the same event dispatched twice: its deliveries exist
        deliveries = WebhookDelivery.objects.bulk_create([
            WebhookDelivery(workspace_id=event.workspace_id, endpoint_id=pk, message=message,
                            next_attempt_at=now)
            for pk in endpoint_ids])
        delivery.enqueue_after_commit([d.pk for d in deliveries])
    return deliveries

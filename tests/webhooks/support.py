"""Helpers of the webhooks tests: emit an event, read a delivery back."""

from __future__ import annotations

from core import events
from webhooks.events import TEST_EVENT
from webhooks.models import WebhookDelivery


def emit(workspace, message: str = "hello", name: str = TEST_EVENT):
    return events.emit(name, {"endpoint": 0, "message": message}, workspace_id=workspace.pk)


def only_delivery(endpoint) -> WebhookDelivery:
    return WebhookDelivery.objects.get(endpoint=endpoint)

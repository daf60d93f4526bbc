"""The delivery log is kept WEBHOOKS_LOG_RETENTION_DAYS: older finished messages go with
their deliveries and attempts; a message still waiting to be delivered stays."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories.webhooks import (
    WebhookAttemptFactory,
    WebhookDeliveryFactory,
)
from webhooks import tasks
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookMessage
from webhooks.services import retention

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status


def _aged(days: int, status: str) -> WebhookMessage:
    attempt = WebhookAttemptFactory(delivery__status=status)
    message = attempt.delivery.message
    WebhookMessage.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(days=days))
    return message


def test_old_finished_messages_go_with_their_log_and_the_rest_stays(settings):
    settings.WEBHOOKS_LOG_RETENTION_DAYS = 30
    old_done = [_aged(31, Status.SUCCEEDED), _aged(45, Status.EXHAUSTED)]
    old_waiting = _aged(40, Status.FAILED)  # a retry is still due: kept
    recent = _aged(5, Status.SUCCEEDED)

    assert tasks.prune_log() == 2

    kept = set(WebhookMessage.objects.values_list("pk", flat=True))
    assert kept == {old_waiting.pk, recent.pk}
    assert not WebhookDelivery.objects.filter(message__in=old_done).exists()
    assert WebhookAttempt.objects.count() == 2
    assert retention.log_prune() == 0  # again: nothing more to do


def test_a_message_with_one_open_delivery_among_finished_ones_is_kept(settings):
    message = _aged(60, Status.SUCCEEDED)
    WebhookDeliveryFactory(message=message, workspace=message.workspace,
                           status=Status.PENDING)
    assert retention.log_prune(older_than_days=30) == 0
    assert WebhookMessage.objects.filter(pk=message.pk).exists()

"""The delivery log's retention: messages older than ``WEBHOOKS_LOG_RETENTION_DAYS`` go,
with their deliveries and attempts, once none of their deliveries is still open (a
message waiting for a retry, or for its endpoint to be enabled again, is kept)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .. import conf
from ..models import WebhookDelivery, WebhookMessage
from .delivery import OPEN


def log_prune(*, older_than_days: int | None = None, now: datetime | None = None,
              batch_size: int = 1000) -> int:
    """Delete the finished messages older than the retention (in batches); returns how many."""
    days = int(older_than_days if older_than_days is not None
               else conf.get("WEBHOOKS_LOG_RETENTION_DAYS"))
    cutoff = (now or timezone.now()) - timedelta(days=days)
    still_open = WebhookDelivery.objects.filter(message_id=OuterRef("pk"), status__in=OPEN)
    removed = 0
    while True:
        ids = list(WebhookMessage.objects.filter(created_at__lt=cutoff)
                   .exclude(Exists(still_open)).order_by("pk")
                   .values_list("pk", flat=True)[:batch_size])
        if not ids:
            return removed
        with transaction.atomic():  # deliveries and attempts follow by cascade
            WebhookMessage.objects.filter(pk__in=ids).delete()
        removed += len(ids)

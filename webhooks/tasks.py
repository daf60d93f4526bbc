"""Celery tasks of outbound webhooks: one delivery's attempt, and the beat pick of due
retries (every 30 s)."""

from __future__ import annotations

from celery import shared_task
from django.utils.dateparse import parse_datetime


@shared_task(name="webhooks.deliver", acks_late=True, ignore_result=True)
def deliver(delivery_id: int, at: str | None = None) -> bool:
    """The delivery's next attempt if it is due (``at``: the clock of whoever queued it)."""
    from .services import delivery

    return delivery.deliver(delivery_id, now=parse_datetime(at) if at else None) is not None


@shared_task(name="webhooks.deliver_due", acks_late=True, ignore_result=True)
def deliver_due() -> int:
    """Beat: queue the retries that have come due (and any delivery a lost message left)."""
    from .services import delivery

    return delivery.deliver_due()


@shared_task(name="webhooks.prune_log", acks_late=True, ignore_result=True)
def prune_log() -> int:
    """Beat, daily: finished messages past WEBHOOKS_LOG_RETENTION_DAYS, with their log."""
    from .services import retention

    return retention.log_prune()

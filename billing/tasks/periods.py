"""Celery task of subscription periods (beat entry "billing-process-due-subscriptions"):
trial ends, renewals (each period invoiced once, before it moves on) and ends."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from ..services import subscriptions


@shared_task(name="billing.tasks.periods.process_due_subscriptions", acks_late=True,
             reject_on_worker_lost=True, autoretry_for=(OperationalError, InterfaceError),
             retry_backoff=5, retry_jitter=True, max_retries=3)
def process_due_subscriptions() -> int:
    """Subscriptions moved on, in real time.  Workspaces on a test clock are left to
    their clock (staff advance it).  Safe to deliver twice or to overlap with itself:
    every step re-checks under the subscription's row lock and each period is invoiced
    once."""
    return subscriptions.process_due(skip_frozen=True)

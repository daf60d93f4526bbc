"""Celery task of dunning (beat entry "run-dunning"): payment retries that are due,
recoveries, and cancellations after the grace period.

Idempotent: a retry is due only while ``next_payment_attempt`` has passed, and each
attempt moves it on (or clears it); an attempt whose outcome was unknown is resent with the
same idempotency key, so running twice never charges twice.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from ..services import dunning


@shared_task(name="billing.tasks.dunning.run_dunning", acks_late=True)
def run_dunning(now: str | None = None, workspace_id: int | None = None) -> dict:
    """Counts of retried, paid, recovered and cancelled; ``now`` (ISO) to run as of another
    time, ``workspace_id`` for one workspace (as of its test clock unless ``now``)."""
    return dunning.run_due(now=datetime.fromisoformat(now) if now else None,
                           workspace_id=workspace_id)


#: The brief's other name for the same work.
retry_payments = run_dunning

"""Celery task of invoice generation (beat entry "generate-due-invoices").

Idempotent: each due subscription's period is invoiced exactly once, however often
this runs and whatever else (a renewal, a test clock) generates it at the same time.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from ..services import invoices


@shared_task(name="billing.tasks.invoices.generate_due_invoices", acks_late=True)
def generate_due_invoices(now: str | None = None, workspace_id: int | None = None) -> int:
    """Invoices created; ``now`` (ISO) to run as of another time, ``workspace_id`` for
    one workspace (as of its test clock unless ``now`` is given)."""
    return invoices.generate_due(now=datetime.fromisoformat(now) if now else None,
                                 workspace_id=workspace_id)

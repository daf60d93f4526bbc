"""Celery task of credit expiry (beat entry "expire-credits").

Idempotent: an addition's unused part expires once (its ``remaining`` drops to zero with
the expiry row, under the workspace's ledger lock), however often this runs.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from ..services import credits


@shared_task(name="billing.tasks.credits.expire_credits", acks_late=True)
def expire_credits(now: str | None = None, workspace_id: int | None = None) -> int:
    """Expiry rows written; ``now`` (ISO) to run as of another time (default: each
    workspace's billing clock), ``workspace_id`` for one workspace."""
    return credits.expire_due(now=datetime.fromisoformat(now) if now else None,
                              workspace_id=workspace_id)

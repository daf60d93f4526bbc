"""Celery tasks of metrics, exports and rollups (imported by ``analytics.tasks`` so the
worker finds them)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from .services import exports, rollups


@shared_task(name="analytics.export.run", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=5,
             retry_jitter=True, max_retries=3)
def run_export(export_id: int) -> dict:
    """Write one export's file; a finished export is left alone (redelivery is a no-op)."""
    return {"export": export_id, "status": exports.export_run(export_id)}


@shared_task(name="analytics.rollups.recent", acks_late=True)
def rollup_recent_days() -> dict:
    """Beat, daily: yesterday's and today's rollups (UTC) of every workspace, so late
    events of yesterday are counted and today's figures are there during the day."""
    today = timezone.now().date()
    return rollups.rollup_range(today - timedelta(days=1), today)

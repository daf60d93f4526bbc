"""Celery task of schedule triggers (the engine's tasks live in ``workflows.tasks``).

Beat fires ``fire_schedule(trigger_id=...)`` from each schedule trigger's
``PeriodicTask``; ``core.beat`` stamps the message with ``tick_at`` (when beat
sent it), which maps to the schedule slot.  Imported by ``WorkflowsConfig.ready``
so every worker registers it (Celery's autodiscovery looks for ``tasks`` only).
"""

from __future__ import annotations

from datetime import UTC, datetime

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from .services import triggers


def _moment(value: str | None) -> datetime:
    if not value:
        return timezone.now()
    moment = datetime.fromisoformat(value)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


@shared_task(name=triggers.FIRE_TASK, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=5,
             retry_jitter=True, max_retries=3)
def fire_schedule(trigger_id: int, tick_at: str | None = None) -> dict:
    """Start the execution of the slot this tick is for; a repeated tick finds it."""
    execution = triggers.trigger_fire_schedule(trigger_id, _moment(tick_at))
    if execution is None:
        return {"trigger": trigger_id, "status": "ignored"}
    return {"trigger": trigger_id, "execution": execution.pk, "status": execution.status,
            "slot": execution.slot.isoformat() if execution.slot else None}

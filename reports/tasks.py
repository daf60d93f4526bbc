"""Celery tasks of scheduled reports: build a run, send a delivery, requeue the lost.

Beat fires ``generate_report(definition_id=...)`` from each definition's
``PeriodicTask``; ``reports.signals`` stamps the message with ``tick_at``, the
time beat sent it.  Every task is acknowledged late and idempotent: a
redelivered or duplicated message finds its run or delivery and does not build
or send again (see ``reports.services.runs``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from .models import ReportDefinition, ReportRun
from .services import runs
from .services.deliveries import DeliveryFailed, delivery_send


def _moment(value: str | None) -> datetime:
    if not value:
        return timezone.now()
    moment = datetime.fromisoformat(value)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=5,
             retry_jitter=True, max_retries=3)
def generate_report(self, definition_id: int, run_id: int | None = None,
                    tick_at: str | None = None, slot: str | None = None) -> dict:
    """Build a report run, then queue its deliveries.

    ``run_id``: a run made by "run now" (admin, API).  Otherwise a scheduled
    tick: the run of the slot due at ``tick_at`` (beat's send time; default now),
    or of ``slot`` itself (to build a missed slot by hand).  A run that exists
    already is not made again, and a finished run is not built again.
    """
    if run_id is None:
        if slot:
            definition = ReportDefinition.objects.filter(pk=definition_id).first()
            if definition is None:
                return {"status": "ignored", "reason": "no such definition"}
            run, _ = runs.run_create(definition, trigger=ReportRun.Trigger.SCHEDULE,
                                     slot=_moment(slot))
        else:
            run = runs.run_for_tick(definition_id, _moment(tick_at))
        if run is None:
            return {"status": "ignored", "reason": "not scheduled"}
        run_id = run.pk
    run = runs.run_execute(run_id)
    if run is None:
        return {"status": "ignored", "reason": "no such run"}
    return {"run": run.pk, "status": run.status,
            "slot": run.slot.isoformat() if run.slot else None}


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(DeliveryFailed,), retry_backoff=settings.REPORT_DELIVERY_BACKOFF,
             retry_backoff_max=settings.REPORT_DELIVERY_BACKOFF_MAX, retry_jitter=True,
             max_retries=settings.REPORT_DELIVERY_MAX_RETRIES)
def send_delivery(self, delivery_id: int) -> dict:
    """Email one delivery; a failure is recorded on it and retried with backoff."""
    final = self.request.retries >= (self.max_retries or 0)
    delivery = delivery_send(delivery_id, final=final)
    if delivery is None:
        return {"delivery": delivery_id, "status": "already sent or being sent"}
    return {"delivery": delivery.pk, "status": delivery.status}


@shared_task(acks_late=True)
def reap_reports() -> dict:
    """Queue again runs and deliveries left pending by a lost message."""
    return runs.reports_reap()

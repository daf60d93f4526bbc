"""Celery tasks of the CRM: applying provider webhook events on the worker."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from . import webhooks
from .models import ProviderEvent


@shared_task(name="crm.provider_event.process", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=5,
             retry_jitter=True, max_retries=5)
def process_provider_event(event_id: int) -> dict:
    """Apply a stored provider event (once, however often the task is delivered)."""
    return {"event": event_id, "status": webhooks.process_event(event_id)}


@shared_task(name="crm.provider_event.sweep", acks_late=True)
def sweep_provider_events(older_than_seconds: int = 300) -> int:
    """Queue again events still ``received`` after ``older_than_seconds`` (a task lost
    between the commit and the broker).  For beat, every few minutes."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stale = list(ProviderEvent.objects.filter(status=ProviderEvent.Status.RECEIVED,
                                              created_at__lt=cutoff)
                 .order_by("id").values_list("pk", flat=True)[:1000])
    for pk in stale:
        process_provider_event.delay(pk)
    return len(stale)


@shared_task(name="crm.calls.reconcile", acks_late=True)
def reconcile_stale_calls(older_than_minutes: int = 30, limit: int = 200) -> dict:
    """Fetch the executions of calls still not final after ``older_than_minutes`` (lost
    webhooks) and apply them.  For beat, every 10 minutes or so."""
    from .providers import ProviderError, bolna
    from .services import calls

    client = bolna.client()
    done = failed = 0
    for call in calls.stale_calls(older_than_minutes)[:limit]:
        try:
            calls.refresh_from_provider(call, provider=client)
            done += 1
        except ProviderError:
            failed += 1
    return {"refreshed": done, "failed": failed}


# Campaign dialing and lead tasks live in their own modules; importing them here is how
# workers (which autodiscover ``crm.tasks``) know them.
from . import tasks_campaigns, tasks_leads  # noqa: E402, F401

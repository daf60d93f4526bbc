"""Celery tasks of the campaign dialer: beat fans out one tick per live campaign.

``dial_campaigns`` (beat, every minute) queues ``dial_campaign`` for each running
campaign (and each scheduled one whose start has come).  Workspaces on a billing test
clock are left out of this real-time run: their time only moves when their clock does
(tests and staff tick them with ``dial_campaign`` or the API's "dial now").

``dial_campaign`` is one ``crm.dialer.dial`` tick; delivered twice (``acks_late``, a
worker lost) it does no harm: the campaign's row lock keeps two ticks apart and each
tick counts what is already in progress and placed in the last minute.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.utils import timezone

from billing import clock

from .models import Campaign


def live_campaign_ids(now=None) -> list[int]:
    """Running campaigns and scheduled ones due to start, outside test-clock workspaces."""
    now = now or timezone.now()
    found = Campaign.objects.filter(
        Q(status=Campaign.Status.RUNNING)
        | Q(status=Campaign.Status.SCHEDULED, starts_at__lte=now)
        | Q(status=Campaign.Status.SCHEDULED, starts_at__isnull=True))
    frozen = clock.frozen_workspace_ids()
    if frozen:
        found = found.exclude(workspace_id__in=frozen)
    return list(found.order_by("pk").values_list("pk", flat=True))


@shared_task(name="crm.campaigns.dial_one", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=5,
             max_retries=3)
def dial_campaign(campaign_id: int) -> dict:
    """One dialer tick of one campaign."""
    from .dialer import dial

    return dial(campaign_id).as_dict()


@shared_task(name="crm.campaigns.dial", acks_late=True)
def dial_campaigns() -> int:
    """For beat, every minute: one ``dial_campaign`` per live campaign."""
    ids = live_campaign_ids()
    for pk in ids:
        dial_campaign.delay(pk)
    return len(ids)

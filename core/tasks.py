"""Scheduled kernel jobs."""

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def prune_audit_entries() -> int:
    return services.audit_entries_prune()

"""Writes of the core kernel that carry a rule."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import AuditEntry


def audit_entries_prune(*, retention_days: int | None = None, batch_size: int = 5000) -> int:
    """Delete entries past retention, keeping every object's ``create`` entry.

    The create entry is the one record of who made an object and when, so it
    outlives retention.  Deletes in batches to keep each transaction short.
    """
    days = settings.AUDIT_RETENTION_DAYS if retention_days is None else retention_days
    if days < 0:
        raise ValueError("retention_days must be zero or positive")
    cutoff = timezone.now() - timedelta(days=days)
    expired = AuditEntry.objects.filter(created_at__lt=cutoff).exclude(
        action=AuditEntry.Action.CREATE
    )
    deleted = 0
    while True:
        ids = list(expired.order_by("id").values_list("id", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += AuditEntry.objects.filter(id__in=ids).delete()[0]


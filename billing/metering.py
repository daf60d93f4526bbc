"""Usage metering: usage records in, totals per billing period out.

A usage record is idempotent by ``(workspace, transaction_id)``: sending the same event
again records nothing more.  Apps record what they meter (an execution started, tokens
used) through ``record``; clients and integrations send batches through ``ingest``.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from .models import UsageRecord


def record(*, workspace_id: int, metric: str, quantity: int, transaction_id: str,
           occurred_at: datetime | None = None, source: str = "",
           properties: dict | None = None) -> bool:
    """Record one usage event; False when its transaction id was already recorded."""
    try:
        with transaction.atomic():
            UsageRecord.objects.create(
                workspace_id=workspace_id, metric=metric, quantity=int(quantity),
                transaction_id=transaction_id, occurred_at=occurred_at or timezone.now(),
                source=source, properties=properties or {})
    except IntegrityError:
        return False
    return True


def total(workspace_id: int, metric: str, start: datetime, end: datetime) -> int:
    """Usage of ``metric`` with ``start <= occurred_at < end``."""
    value = (UsageRecord.objects.filter(workspace_id=workspace_id, metric=metric,
                                        occurred_at__gte=start, occurred_at__lt=end)
             .aggregate(total=Sum("quantity"))["total"])
    return int(value or 0)


def totals(workspace_id: int, start: datetime, end: datetime) -> dict[str, int]:
    """Usage of every metric in ``[start, end)``, by metric."""
    rows = (UsageRecord.objects.filter(workspace_id=workspace_id, occurred_at__gte=start,
                                       occurred_at__lt=end)
            .values("metric").annotate(total=Sum("quantity")))
    return {row["metric"]: int(row["total"] or 0) for row in rows}

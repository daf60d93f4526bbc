"""Billing's "now": a workspace's test clock when it has one, the real time otherwise.

Every billing decision that depends on the time (trial ends, period boundaries,
invoice dates, dunning, usage periods) asks ``now(workspace_id)``, so staff and tests
can move one workspace through months of billing without waiting.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from .models import TestClock


def now(workspace_id: int | None = None) -> datetime:
    if workspace_id is not None:
        frozen = (TestClock.objects.filter(workspace_id=workspace_id)
                  .values_list("frozen_time", flat=True).first())
        if frozen is not None:
            return frozen
    return timezone.now()


def frozen_workspace_ids() -> set[int]:
    """Workspaces on a test clock: real-time beat runs leave them to their clock."""
    return set(TestClock.objects.values_list("workspace_id", flat=True))

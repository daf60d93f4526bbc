"""Moving a workspace's test clock: staff simulate weeks or years of billing in one go.

``advance_clock`` sets the workspace's ``TestClock`` to ``to`` (creating it if needed;
a clock only moves forward), then runs the period processing for that workspace at that
time until nothing is due (a jump of several periods bills each of them, in order), then
dunning (``billing.services.dunning.run_due``) for the same workspace and time.  The
real-time beat run leaves workspaces on a test clock alone, so only this moves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.api.errors import ApiError

from ..models import TestClock
from . import subscriptions

#: Passes of period processing per advance (each pass walks every due period of every
#: subscription; more than one is needed only when a pass makes something else due).
MAX_PASSES = 20


@dataclass
class Advanced:
    clock: TestClock
    subscriptions_advanced: int = 0
    passes: int = 0
    dunning: object = None
    notes: list[str] = field(default_factory=list)


def _dunning():
    try:
        from billing.services import dunning
    except ImportError as exc:
        if subscriptions._missing(exc, "billing.services.dunning"):
            return None
        raise
    return getattr(dunning, "run_due", None)


def advance_clock(workspace, to: datetime, by) -> Advanced:
    """Staff only (``billing.change_testclock``).  400 if ``to`` is not an aware datetime
    or lies before the clock's current time (advancing to the same time again re-runs
    the processing, which is idempotent: a retry after a failure)."""
    if not subscriptions.is_billing_staff(by, "billing.change_testclock"):
        raise ApiError(403, "staff_only", "Only staff may move a test clock.")
    if not isinstance(to, datetime) or timezone.is_naive(to):
        raise ApiError(400, "invalid", "Give the time to move to with its time zone.",
                       errors={"to": ["An aware date and time is required."]})
    with transaction.atomic():
        clock = TestClock.objects.select_for_update().filter(workspace=workspace).first()
        if clock is not None and to < clock.frozen_time:
            at = f"{clock.frozen_time:%Y-%m-%d %H:%M}"
            raise ApiError(400, "clock_backwards", f"The clock is at {at} UTC and only "
                           "moves forward.",
                           errors={"to": ["Earlier than the clock's current time."]})
        previous = clock.frozen_time if clock is not None else None
        if clock is None:
            clock = TestClock.objects.create(workspace=workspace, frozen_time=to,
                                             name="Simulation")
        else:
            clock.frozen_time = to
            clock.save(update_fields=["frozen_time", "updated_at"])
        from workspaces.services.workspaces import activity_record

        activity_record(workspace=workspace, actor=by, verb="billing.clock.advanced",
                        summary=f"Test clock moved to {to:%Y-%m-%d %H:%M} UTC", target=clock,
                        data={"from": previous.isoformat() if previous else None,
                              "to": to.isoformat()})
    result = Advanced(clock=clock)
    for _ in range(MAX_PASSES):
        result.passes += 1
        moved = subscriptions.process_due(now=to, workspace_id=workspace.pk, strict=True)
        result.subscriptions_advanced += moved
        if not moved:
            break
    run_due = _dunning()
    if run_due is None:
        result.notes.append("Dunning is not installed: no retries or grace checks ran.")
    else:
        result.dunning = run_due(now=to, workspace_id=workspace.pk)
    return result

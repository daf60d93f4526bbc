"""Receivers: drop a deleted definition's beat entry; stamp beat ticks with their time.

Connected in ``ReportsConfig.ready`` (every process: web, worker and beat).
"""

from celery.signals import before_task_publish
from django.db.models.signals import post_delete

from core import beat

from .models import ReportDefinition

GENERATE_TASK = "reports.tasks.generate_report"


post_delete.connect(beat.drop_owned_entry, sender=ReportDefinition,
                    dispatch_uid="reports-definition-unschedule")


@before_task_publish.connect(dispatch_uid="reports-stamp-beat-tick")
def _stamp_beat_tick(sender=None, body=None, headers=None, **kwargs):
    """Beat sends ``generate_report(definition_id=...)``: add when it sent it.

    The task maps that moment to its schedule slot, so a message that waits in
    the queue still builds the slot it was sent for, and two messages of one
    tick (two beats, a restarted beat) name the same slot.
    """
    if sender == GENERATE_TASK:
        beat.stamp_tick(body, headers)

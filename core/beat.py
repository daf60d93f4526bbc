"""django-celery-beat entries kept in step with the rows that own a schedule.

A report definition or a workflow schedule trigger owns one ``PeriodicTask``:
``periodic_task_sync`` creates, updates or deletes it to match the owner's cron
fields, and beat's database scheduler notices within seconds.  Beat ticks of
the tasks named with ``stamp_ticks`` carry ``tick_at`` (when beat sent them),
which the task maps to its schedule slot (``core.cron.previous_fire``): a
message that waits in the queue still runs the slot it was sent for, and two
messages of one tick name the same slot.
"""

from __future__ import annotations

import json

from celery.signals import before_task_publish
from celery.utils.saferepr import saferepr
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from .cron import Cron

_STAMPED: set[str] = set()


def crontab_for(cron: Cron) -> CrontabSchedule:
    """The (shared) ``CrontabSchedule`` row of a parsed cron expression and its zone."""
    fields = {**cron.fields, "timezone": cron.tz.key}
    found = CrontabSchedule.objects.filter(**fields).order_by("pk").first()
    if found is not None:
        return found
    return CrontabSchedule.objects.create(**fields)


def periodic_task_sync(task: PeriodicTask | None, *, name: str, task_path: str, kwargs: dict,
                       cron: Cron | None, enabled: bool,
                       description: str = "") -> PeriodicTask | None:
    """Make ``task`` (or a new entry called ``name``) fire ``task_path(**kwargs)`` on
    ``cron``; ``cron=None`` deletes it.  The caller stores the returned entry."""
    if cron is None:
        if task is not None and task.pk:
            task.delete()
        return None
    crontab = crontab_for(cron)
    if task is None:
        task = PeriodicTask(name=name)
    elif task.crontab_id != crontab.pk:
        # A new schedule counts from now: never a burst of "missed" runs on saving.
        task.last_run_at = timezone.now()
    task.task = task_path
    task.crontab, task.interval, task.solar, task.clocked = crontab, None, None, None
    task.kwargs = json.dumps(kwargs)
    task.args = "[]"
    task.enabled = enabled
    task.one_off = False
    task.description = description[:1000]
    task.save()
    return task


def owner_schedule_sync(owner, *, name: str, task_path: str, kwargs: dict, cron: Cron | None,
                        enabled: bool, description: str = "") -> PeriodicTask | None:
    """``periodic_task_sync`` for a row that owns its entry through a ``periodic_task``
    one-to-one (a report definition, a workflow or agent schedule trigger): the row
    is pointed at the entry (or at none) without another save of the row itself."""
    task = periodic_task_sync(owner.periodic_task, name=name, task_path=task_path,
                              kwargs=kwargs, cron=cron, enabled=enabled,
                              description=description)
    if owner.periodic_task_id != (task.pk if task else None):
        type(owner).objects.filter(pk=owner.pk).update(periodic_task=task)
        owner.periodic_task = task
    return task


def drop_owned_entry(sender, instance, **kwargs) -> None:
    """``post_delete`` receiver for owners of an entry: a cascade (a workflow or agent
    deleted with its triggers) removes rows without their service, and beat must not
    fire for them."""
    if instance.periodic_task_id:
        PeriodicTask.objects.filter(pk=instance.periodic_task_id).delete()


def stamp_ticks(task_path: str) -> None:
    """Beat messages for ``task_path`` get a ``tick_at`` keyword (when beat sent them)."""
    _STAMPED.add(task_path)


def stamp_tick(body, headers) -> None:
    """Add ``tick_at`` (now) to a beat message's keyword arguments, unless it has one."""
    if not (headers or {}).get("periodic_task_name"):
        return  # not sent by beat
    if isinstance(body, tuple | list) and len(body) >= 2 and isinstance(body[1], dict):
        body[1].setdefault("tick_at", timezone.now().isoformat())
        if "kwargsrepr" in headers:  # what monitoring and the result backend show
            headers["kwargsrepr"] = saferepr(body[1])


@before_task_publish.connect(dispatch_uid="core-beat-stamp-ticks")
def _stamp(sender=None, body=None, headers=None, **kwargs):
    if sender in _STAMPED:
        stamp_tick(body, headers)

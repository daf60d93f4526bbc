"""Report definitions: saving them, and keeping their beat schedule in step.

The definition's ``schedule_cron``/``schedule_timezone``/``enabled`` are the
source; ``definition_schedule_sync`` writes the django-celery-beat
``PeriodicTask`` (and its ``CrontabSchedule``) that fires
``reports.tasks.generate_report(definition_id=...)``.  Beat's database scheduler
notices the change within seconds.  A definition that becomes scheduled counts to the
plan's schedules (``billing.entitlements``: 402 ``limit_reached`` past the limit).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django_celery_beat.models import PeriodicTask

from billing import entitlements
from core import beat

from ..models import ReportDefinition

TASK = "reports.tasks.generate_report"


def periodic_task_name(definition: ReportDefinition) -> str:
    return f"report-definition-{definition.pk}"


def recipients_check(*, workspace, users) -> None:
    """Recipients must be active members of the definition's workspace."""
    from workspaces.queries import member_user_ids

    users = list(users or [])
    members = {row["user_id"] for row in member_user_ids(workspace).filter(user__in=users)}
    outsiders = [user for user in users if user.pk not in members]
    if outsiders:
        names = ", ".join(sorted(str(user) for user in outsiders))
        raise ValidationError({"recipients": [
            f"Recipients must be members of the workspace; not members: {names}."]})


def definition_create(*, workspace, recipients=(), by=None, **fields) -> ReportDefinition:
    """A new definition; without an ``owner`` (told of failures) it is ``by``, if a member.

    An explicit ``owner=None`` means "nobody": failures then go to the workspace owner.
    """
    return definition_save(ReportDefinition(workspace=workspace, **fields),
                           recipients=recipients, by=None if "owner" in fields else by)


def definition_update(definition: ReportDefinition, *, recipients=None,
                      **fields) -> ReportDefinition:
    for name, value in fields.items():
        setattr(definition, name, value)
    return definition_save(definition, recipients=recipients)


@transaction.atomic
def definition_save(definition: ReportDefinition, *, recipients=None,
                    by=None) -> ReportDefinition:
    """Validate and save ``definition`` (new or changed) and keep its beat entry in step.

    The admin calls this with the instance its form built, the API through
    ``definition_create``/``definition_update``; ``recipients=None`` keeps them.
    A new definition with no owner gets ``by`` (the person creating it) when a member.
    """
    from workspaces.queries import is_member

    if (definition.pk is None and definition.owner_id is None and by is not None
            and is_member(by, definition.workspace_id)):
        definition.owner = by
    if recipients is not None:
        recipients = list(recipients)
        recipients_check(workspace=definition.workspace, users=recipients)
    if definition.is_scheduled and not (definition.pk and ReportDefinition.objects.filter(
            pk=definition.pk, enabled=True).exclude(schedule_cron="").exists()):
        entitlements.require(definition.workspace_id, "schedules")  # a new schedule
    definition.full_clean()
    definition.save()
    if recipients is not None:
        definition.recipients.set(recipients)
    definition_schedule_sync(definition)
    return definition


def definition_schedule_sync(definition: ReportDefinition) -> PeriodicTask | None:
    """Create, update or remove the definition's beat entry to match its fields."""
    return beat.owner_schedule_sync(
        definition, name=periodic_task_name(definition), task_path=TASK,
        kwargs={"definition_id": definition.pk},
        cron=definition.cron() if definition.schedule_cron else None,
        enabled=definition.enabled,
        description=f"Report \"{definition.name}\" ({definition.get_kind_display()}), "
                    f"workspace {definition.workspace_id}. Edit the schedule on the "
                    "report definition.")

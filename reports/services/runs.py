"""Runs: create one per schedule slot (or on demand), build it once, hand it to delivery.

Exactly once, in three steps:

* **One run per slot.** A scheduled tick maps to its slot (``reports.schedule``);
  ``run_create`` is a get-or-create under the unique (definition, slot)
  constraint, so a duplicated tick finds the run instead of making another.
* **One builder per run.** ``run_claim`` moves the run to ``running`` with a
  conditional update.  On PostgreSQL the builder also holds a session advisory
  lock, so a redelivered task can tell a dead builder (lock free: take over)
  from a live one (lock held: leave it); SQLite cannot tell, and goes by the
  heartbeat: the builder touches the run's ``updated_at`` every
  ``REPORT_HEARTBEAT_SECONDS``, and a run silent for ``REPORT_STALE_SECONDS`` is
  taken over.  The reaper requeues such a run within a minute or two (the
  broker would redeliver its message only after its visibility timeout).  A
  finished run is never built again.
* **One delivery per recipient.** Deliveries are created with the run's final
  status, in the same transaction, unique per (run, recipient, channel).
"""

from __future__ import annotations

import io
import logging
import traceback
import zipfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from core import live_settings, locks
from core.heartbeat import Heartbeat, touch_unlocked

from .. import events, kinds
from ..data import ReportParameters
from ..models import ReportDefinition, ReportDelivery, ReportRun
from ..parameters import parameters_resolve
from ..rendering.exports import csv_files, xlsx
from ..rendering.html import email_images, render_html
from ..schedule import previous_fire
from .deliveries import deliveries_create, deliveries_enqueue
from .emails import one_line

log = logging.getLogger(__name__)
LOCK_KEY = 731_002  # advisory-lock namespace for building report runs
Status = ReportRun.Status


# --- creating runs ---------------------------------------------------------------------


def run_create(definition: ReportDefinition, *, trigger: str, slot: datetime | None = None,
               requested_by=None) -> tuple[ReportRun, bool]:
    """A pending run with its parameters resolved; for a slot, the existing one if any."""
    tz = ZoneInfo(definition.schedule_timezone or "UTC")
    reference = (slot or timezone.now()).astimezone(tz).date()
    fields = {"workspace_id": definition.workspace_id, "trigger": trigger,
              "requested_by": requested_by}
    try:
        fields["parameters"] = parameters_resolve(definition.parameters, reference).to_dict()
    except (TypeError, ValueError, ArithmeticError) as exc:
        fields.update(status=Status.FAILED, error=f"Bad parameters: {exc}",
                      finished_at=timezone.now())
    if slot is None:
        run, created = ReportRun.objects.create(definition=definition, **fields), True
    else:
        try:
            with transaction.atomic():
                run, created = ReportRun.objects.get_or_create(definition=definition, slot=slot,
                                                               defaults=fields)
        except IntegrityError:  # a concurrent tick created it between our get and create
            run, created = ReportRun.objects.get(definition=definition, slot=slot), False
    if created and run.status == Status.FAILED:
        events.run_finished(run)
        run_notify_failure(run)
    return run, created


def run_request(definition: ReportDefinition, *, trigger: str, by=None) -> ReportRun:
    """Run now (admin, API): a new run, built by the worker once this transaction commits."""
    with transaction.atomic():
        run, _ = run_create(definition, trigger=trigger, requested_by=by)
        if not run.is_finished:
            run_enqueue(run)
    return run


def run_enqueue(run: ReportRun) -> None:
    from ..tasks import generate_report  # tasks import services: import late

    transaction.on_commit(lambda: generate_report.delay(definition_id=run.definition_id,
                                                        run_id=run.pk))


def run_for_tick(definition_id: int, tick_at: datetime) -> ReportRun | None:
    """The run of the schedule slot a beat tick at ``tick_at`` is for (made if new)."""
    definition = ReportDefinition.objects.filter(pk=definition_id).first()
    if definition is None or not definition.is_scheduled:
        log.info("Report definition %s is gone or unscheduled; tick ignored.", definition_id)
        return None
    slot = previous_fire(definition.cron(), tick_at)
    if slot is None:
        return None
    run, created = run_create(definition, trigger=ReportRun.Trigger.SCHEDULE, slot=slot)
    if not created:
        log.info("Run %s already exists for %s at %s: duplicate tick.", run.pk,
                 definition, slot.isoformat())
    return run


# --- building a run ----------------------------------------------------------------------


def run_execute(run_id: int) -> ReportRun | None:
    """Build the run unless it is finished or another worker is building it."""
    run = run_claim(run_id)
    if run is None:
        return ReportRun.objects.filter(pk=run_id).first()
    try:
        with Heartbeat(lambda: _beat(run_id), settings.REPORT_HEARTBEAT_SECONDS,
                       name=f"report-run-heartbeat-{run_id}"):
            run_generate(run)
    except (OperationalError, InterfaceError):
        # The database is failing: let the task retry, leaving the run claimable.
        ReportRun.objects.filter(pk=run.pk, status=Status.RUNNING).update(
            status=Status.PENDING)
        raise
    finally:
        run_release(run_id)
    return run


def run_claim(run_id: int) -> ReportRun | None:
    if not locks.job_lock_take(LOCK_KEY, run_id):
        return None
    if connection.vendor == "postgresql":
        takeover = Q(status=Status.RUNNING)  # the lock is free: its builder is gone
    else:
        takeover = Q(status=Status.RUNNING, updated_at__lt=_stale_cutoff())
    now = timezone.now()
    claimable = ReportRun.objects.filter(Q(status=Status.PENDING) | takeover, pk=run_id)
    out_of_attempts = claimable.filter(attempts__gte=settings.REPORT_MAX_ATTEMPTS)
    if out_of_attempts.update(status=Status.FAILED, finished_at=now, updated_at=now,
                              error=f"Gave up after {settings.REPORT_MAX_ATTEMPTS} attempts "
                                    "that did not finish (the worker stopped or the "
                                    "database failed)."):
        run_release(run_id)
        failed = ReportRun.objects.get(pk=run_id)
        events.run_finished(failed)
        run_notify_failure(failed)
        return None
    if not claimable.update(status=Status.RUNNING, attempts=F("attempts") + 1, started_at=now,
                            updated_at=now):
        run_release(run_id)
        return None
    return ReportRun.objects.select_related("definition", "definition__workspace").get(
        pk=run_id)


def run_release(run_id: int) -> None:
    locks.job_lock_release(LOCK_KEY, run_id)


def _beat(run_id: int) -> None:
    """A building run's sign of life: its ``updated_at``, from the heartbeat thread."""
    touch_unlocked(ReportRun.objects.filter(pk=run_id, status=Status.RUNNING),
                   updated_at=timezone.now())


def _stale_cutoff() -> datetime:
    return timezone.now() - timedelta(seconds=settings.REPORT_STALE_SECONDS)


def run_generate(run: ReportRun) -> None:
    """Query, render and store the report; then its deliveries, or the failure notice."""
    definition = run.definition
    try:
        params = ReportParameters.from_dict(run.parameters)
        data = kinds.build(definition.kind, definition.workspace_id, params)
        generated_at = timezone.now()
        title = definition.name
        run.html = render_html(data, title=title, generated_at=generated_at)
        run.email_html = render_html(data, title=title, generated_at=generated_at,
                                     image_mode="cid")
        stem = f"{slugify(definition.name)[:60] or 'report'}-{run.pk}"
        images = email_images(data)
        if images:
            run.charts_file.save(f"{stem}-charts.zip", ContentFile(_zip(images)), save=False)
        if definition.output_csv:
            run.csv_file.save(f"{stem}-csv.zip", ContentFile(_zip(csv_files(data))),
                              save=False)
        if definition.output_xlsx:
            run.xlsx_file.save(f"{stem}.xlsx", ContentFile(
                xlsx(data, title=title, generated_at=generated_at)), save=False)
        run.row_count = data.row_count
        skip = data.is_empty and definition.skip_when_empty
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        log.exception("Report run %s failed", run.pk)
        run_fail(run, f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=8)}")
        return
    run.status = Status.SKIPPED if skip else Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.error = ""
    with transaction.atomic():
        run.save()
        if not skip:
            deliveries_enqueue(deliveries_create(run))
        events.run_finished(run)  # dispatched when this commits


def run_fail(run: ReportRun, error: str) -> None:
    run.status, run.error, run.finished_at = Status.FAILED, error[:20_000], timezone.now()
    run.save(update_fields=["status", "error", "finished_at", "updated_at"])
    events.run_finished(run)
    run_notify_failure(run)


def run_notify_failure(run: ReportRun) -> bool:
    """Email the definition's owner (else the workspace owner) that the run failed, once."""
    if run.failure_notified_at is not None:
        return False
    claimed = ReportRun.objects.filter(pk=run.pk, failure_notified_at__isnull=True).update(
        failure_notified_at=timezone.now())
    if not claimed:
        return False
    definition = run.definition
    addresses = _owner_addresses(definition)
    if not addresses:
        log.warning("Report run %s failed and nobody can be told (no owner).", run.pk)
        return False
    link = settings.FRONTEND_URL.rstrip("/") + reverse("admin:reports_reportrun_change",
                                                       args=[run.pk])
    first_line = (run.error or "Unknown error").strip().splitlines()[0]
    body = (f"The report \"{definition.name}\" could not be generated.\n\n"
            f"Run: #{run.pk} ({run.get_trigger_display()}"
            f"{', for ' + run.slot.isoformat() if run.slot else ''})\n"
            f"Error: {first_line}\n\nDetails: {link}\n")
    try:
        send_mail(one_line(f"Report failed: {definition.name}"), body,
                  live_settings.get("report_sender"), addresses)
    except Exception:
        log.exception("Could not email the failure of report run %s", run.pk)
        ReportRun.objects.filter(pk=run.pk).update(failure_notified_at=None)
        return False
    return True


def _owner_addresses(definition: ReportDefinition) -> list[str]:
    from workspaces.queries import workspace_owner

    owner = definition.owner
    if owner is not None and owner.is_active and owner.email:
        return [owner.email]
    fallback = workspace_owner(definition.workspace_id)
    return [fallback.email] if fallback is not None and fallback.is_active else []


def _zip(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            archive.writestr(name, content)
    return buffer.getvalue()


def unzip(field) -> list[tuple[str, bytes]]:
    """The files of a stored ZIP artefact, in order; ``[]`` when there is none."""
    if not field:
        return []
    with field.open("rb") as stored, zipfile.ZipFile(io.BytesIO(stored.read())) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


# --- the reaper --------------------------------------------------------------------------


def reports_reap() -> dict:
    """Queue again what a lost message or a dead worker left behind.

    Runs still pending after ``REPORT_REQUEUE_MINUTES`` (their message was lost),
    and runs "running" whose builder stopped: no heartbeat for
    ``REPORT_STALE_SECONDS`` and (PostgreSQL) no builder holding the run's lock.
    Run every ``REAPER_INTERVAL`` by beat, so a dead worker's run is queued again
    within stale + interval seconds.  The claims make repeats harmless.
    """
    cutoff = timezone.now() - timedelta(minutes=settings.REPORT_REQUEUE_MINUTES)
    runs = list(ReportRun.objects.filter(status=Status.PENDING, updated_at__lt=cutoff)
                .values_list("pk", "definition_id"))
    from ..tasks import generate_report, send_delivery

    stale_cutoff = _stale_cutoff()
    for run_id, definition_id, attempts in (
            ReportRun.objects.filter(status=Status.RUNNING, updated_at__lt=stale_cutoff)
            .values_list("pk", "definition_id", "attempts")):
        if locks.job_lock_held_elsewhere(LOCK_KEY, run_id):
            continue  # a live builder without a recent heartbeat: slow, not dead
        # Back to pending, so the next claim counts the attempt (and gives up after
        # REPORT_MAX_ATTEMPTS); conditional, in case it finished or beat meanwhile.
        if ReportRun.objects.filter(pk=run_id, status=Status.RUNNING,
                                    updated_at__lt=stale_cutoff).update(
                status=Status.PENDING, updated_at=timezone.now(),
                error=f"The worker stopped during attempt {attempts}; queued again."):
            runs.append((run_id, definition_id))
    for run_id, definition_id in runs:
        generate_report.delay(definition_id=definition_id, run_id=run_id)
    deliveries = list(ReportDelivery.objects.filter(status=ReportDelivery.Status.PENDING,
                                                    updated_at__lt=cutoff)
                      .values_list("pk", flat=True))
    for delivery_id in deliveries:
        send_delivery.delay(delivery_id)
    return {"runs": len(runs), "deliveries": len(deliveries)}

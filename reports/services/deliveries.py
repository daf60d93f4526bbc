"""Deliveries: one per run, recipient and channel; sent at most once each.

``delivery_send`` claims the row (``pending``/``failed`` → ``sending``) with a
conditional update before it talks to the mail server, so a duplicated or
redelivered task finds it ``sending`` or ``sent`` and does nothing.  A sent
delivery is announced as ``reports.delivery.sent`` (core.events).  A failure
is written on the row (``failed``, the error, the attempt count) and raised as
``DeliveryFailed`` for the task to retry with backoff.  A worker that dies
mid-send leaves the row ``sending``: it may have gone out, so it is not retried
by itself; staff resend it from the admin.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import events as report_events
from ..models import ReportDelivery, ReportRun
from .emails import report_email

log = logging.getLogger(__name__)
Status = ReportDelivery.Status


class DeliveryFailed(Exception):
    """The mail server refused or failed; the task retries with backoff."""


#: Why a recipient of the definition got no delivery (``ReportRun.skipped_recipients``).
OPTED_OUT, INACTIVE, NO_EMAIL, NOT_MEMBER = "opted_out", "inactive", "no_email", "not_member"


def _skip_reason(user, members: set[int]) -> str | None:
    if user.pk not in members:
        return NOT_MEMBER
    if not user.is_active:
        return INACTIVE
    if not user.email:
        return NO_EMAIL
    if not user.receive_email:
        return OPTED_OUT  # the user's own choice (seed 004); only staff "send to" overrides
    return None


def deliveries_create(run: ReportRun) -> list[ReportDelivery]:
    """A pending email delivery per recipient who is an active member and wants email.

    Every other recipient is written to ``run.skipped_recipients`` with the reason,
    so staff see who did not get it and why.
    """
    from workspaces.queries import member_user_ids

    recipients = run.definition.recipients.order_by("pk")
    members = {row["user_id"] for row in member_user_ids(run.workspace_id).filter(
        user_id__in=recipients.values("pk"))}
    pending, skipped = [], []
    for user in recipients:
        reason = _skip_reason(user, members)
        if reason is not None:
            skipped.append({"user": user.pk, "email": user.email, "reason": reason})
            continue
        delivery, _ = ReportDelivery.objects.get_or_create(
            run=run, recipient=user, channel=ReportDelivery.Channel.EMAIL,
            defaults={"workspace_id": run.workspace_id, "address": user.email})
        if delivery.status == Status.PENDING:
            pending.append(delivery)
    if skipped != run.skipped_recipients:
        run.skipped_recipients = skipped
        run.save(update_fields=["skipped_recipients", "updated_at"])
    return pending


def deliveries_enqueue(deliveries: list[ReportDelivery]) -> None:
    from ..tasks import send_delivery  # tasks import services: import late

    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: send_delivery.delay(pk))


def delivery_send(delivery_id: int, *, final: bool = False) -> ReportDelivery | None:
    """Send one delivery; ``None`` when it is sent or being sent already."""
    now = timezone.now()
    claimed = ReportDelivery.objects.filter(
        pk=delivery_id, status__in=[Status.PENDING, Status.FAILED],
        run__status=ReportRun.Status.SUCCEEDED,
    ).update(status=Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now,
             updated_at=now)
    if not claimed:
        return None
    delivery = ReportDelivery.objects.select_related("run", "run__definition").get(
        pk=delivery_id)
    try:
        report_email(delivery.run, delivery.address).send()
    except Exception as exc:
        delivery.status = Status.FAILED
        delivery.error = f"{type(exc).__name__}: {exc}"[:5000]
        if final:
            delivery.error += f" (gave up after {delivery.attempts} attempts)"
        delivery.save(update_fields=["status", "error", "updated_at"])
        log.warning("Report delivery %s failed (attempt %s): %s", delivery.pk,
                    delivery.attempts, delivery.error)
        raise DeliveryFailed(delivery.error) from exc
    delivery.status, delivery.sent_at, delivery.error = Status.SENT, timezone.now(), ""
    with transaction.atomic():  # consumers hear of it once the row says sent
        delivery.save(update_fields=["status", "sent_at", "error", "updated_at"])
        _record_delivered_to(delivery)
        report_events.delivery_sent(delivery)
    return delivery


def _record_delivered_to(delivery: ReportDelivery) -> None:
    """Add the address to the run's ``delivered_to`` (the predecessor's field)."""
    with transaction.atomic():
        run = ReportRun.objects.select_for_update().get(pk=delivery.run_id)
        if delivery.address not in run.delivered_to:
            run.delivered_to = [*run.delivered_to, delivery.address]
            run.save(update_fields=["delivered_to", "updated_at"])


def delivery_resend(delivery: ReportDelivery) -> ReportDelivery:
    """Send it again (staff asked): back to pending and queued."""
    with transaction.atomic():
        ReportDelivery.objects.filter(pk=delivery.pk).update(
            status=Status.PENDING, error="", updated_at=timezone.now())
        delivery.refresh_from_db()
        deliveries_enqueue([delivery])
    return delivery


def run_send_to(run: ReportRun, user, *, by=None,
                override_opt_out: bool = False) -> ReportDelivery:
    """Send a finished run to one member (new or again), e.g. someone added later.

    Someone who opted out of report emails gets it only when staff say so
    (``override_opt_out``); the delivery records who asked and that it overrode.
    """
    from django.core.exceptions import ValidationError

    from workspaces.queries import is_member

    if run.status != ReportRun.Status.SUCCEEDED:
        raise ValidationError("Only a succeeded run can be sent.")
    if not user.is_active or not user.email or not is_member(user, run.workspace_id):
        raise ValidationError({"user": ["Send only to active members of the workspace."]})
    if not user.receive_email and not override_opt_out:
        raise ValidationError({"override_opt_out": [
            f"{user} has opted out of report emails; confirm to send it anyway."]})
    delivery, _ = ReportDelivery.objects.get_or_create(
        run=run, recipient=user, channel=ReportDelivery.Channel.EMAIL,
        defaults={"workspace_id": run.workspace_id, "address": user.email})
    delivery.address = user.email
    delivery.requested_by = by if getattr(by, "pk", None) else None
    delivery.overrode_opt_out = not user.receive_email
    delivery.save(update_fields=["address", "requested_by", "overrode_opt_out", "updated_at"])
    return delivery_resend(delivery)

"""Dunning: what happens after a payment fails.

* The subscription becomes ``past_due`` (``past_due_since`` = the first failure).
* The invoice is tried again ``settings.BILLING_DUNNING_RETRY_DAYS`` after the first
  failure (default 1, 3 and 5 days: ``next_payment_attempt``); after the last retry no
  more are scheduled.
* Every failure is emailed to the workspace owner and the customer's billing address.
* A paid invoice (charged, told by a webhook, or marked paid by staff) brings the
  subscription back to ``active`` once none of its invoices is still in dunning.
* ``settings.BILLING_GRACE_DAYS`` after it became past due, a subscription still unpaid
  is cancelled and ended; its invoices stay open (staff may still mark them paid or
  uncollectible) but are not retried.

``run_due`` is the beat's entry (and the test clock's): retries due, recoveries by staff
payment, cancellations after the grace period, each workspace at its billing clock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from core import events

from .. import clock
from ..events import PAYMENT_FAILED, SUBSCRIPTION_CHANGED
from ..models import Invoice, Subscription

log = logging.getLogger(__name__)


def retry_days() -> list[int]:
    return [int(d) for d in getattr(settings, "BILLING_DUNNING_RETRY_DAYS", [1, 3, 5])]


def grace_days() -> int:
    return int(getattr(settings, "BILLING_GRACE_DAYS", 14))


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return None


def next_attempt(started: datetime, failures: int) -> datetime | None:
    """When to try again after ``failures`` failed attempts (None: no more retries)."""
    days = retry_days()
    if failures < 1 or failures > len(days):
        return None
    return started + timedelta(days=days[failures - 1])


# --- failure -----------------------------------------------------------------------------------


def payment_failed(invoice: Invoice, *, error: str, decline_code: str = "",
                   now: datetime | None = None) -> None:
    """Record a failed attempt (``invoice.payment_attempts`` already counts it): schedule
    the next retry, make the subscription past due, email, emit ``billing.payment.failed``.
    Call inside the transaction that holds the invoice row."""
    now = now or clock.now(invoice.workspace_id)
    started = _parse(invoice.metadata.get("dunning_started_at")) or now
    failures = max(1, int(invoice.payment_attempts))
    invoice.last_payment_error = (error or "The payment failed.")[:300]
    invoice.next_payment_attempt = next_attempt(started, failures)
    invoice.metadata = {**invoice.metadata, "dunning_started_at": started.isoformat()}
    invoice.save(update_fields=["last_payment_error", "next_payment_attempt", "metadata",
                                "updated_at"])
    sub = _subscription(invoice)
    if sub is not None and can_proceed(sub.mark_past_due):
        previous = sub.status
        sub.mark_past_due()
        sub.past_due_since = now
        sub.save(update_fields=["status", "past_due_since", "updated_at"])
        _changed(sub, previous, f"Subscription past due: payment of invoice "
                                f"{invoice.number or invoice.pk} failed",
                 "billing.subscription.past_due")
    _activity(invoice, "billing.payment.failed",
              f"Payment of invoice {invoice.number or invoice.pk} failed "
              f"(attempt {failures}): {invoice.last_payment_error}",
              {"attempt": failures, "error": invoice.last_payment_error,
               "decline_code": decline_code,
               "next_attempt": invoice.next_payment_attempt})
    events.emit(PAYMENT_FAILED, {"invoice": invoice.pk, "attempt": failures,
                                 "error": invoice.last_payment_error,
                                 "next_attempt": invoice.next_payment_attempt},
                workspace_id=invoice.workspace_id)
    _email_failure(invoice, failures)


def _subscription(invoice: Invoice) -> Subscription | None:
    if not invoice.subscription_id:
        return None
    return Subscription.objects.select_for_update(of=("self",)).filter(
        pk=invoice.subscription_id).first()


# --- recovery and the end -------------------------------------------------------------------------


def _in_dunning(sub: Subscription):
    return Invoice.objects.filter(subscription=sub, status=Invoice.Status.OPEN,
                                  payment_attempts__gt=0)


def payment_recovered(invoice: Invoice, *, now: datetime | None = None) -> bool:
    """After ``invoice`` was paid: a past-due subscription with no other invoice in dunning
    becomes active again.  Returns whether it recovered."""
    if not invoice.subscription_id:
        return False
    with transaction.atomic():
        sub = _subscription(invoice)
        if sub is None or sub.status != Subscription.Status.PAST_DUE:
            return False
        if _in_dunning(sub).exclude(pk=invoice.pk).exists():
            return False
        sub.recover()
        sub.past_due_since = None
        sub.save(update_fields=["status", "past_due_since", "updated_at"])
        _changed(sub, Subscription.Status.PAST_DUE,
                 f"Subscription active again: invoice {invoice.number or invoice.pk} paid",
                 "billing.subscription.recovered")
    return True


def cancel_unpaid(sub: Subscription, *, now: datetime) -> None:
    """The grace period is over: cancel and end the subscription; stop retrying."""
    with transaction.atomic():
        sub = Subscription.objects.select_for_update(of=("self",)).get(pk=sub.pk)
        if sub.status != Subscription.Status.PAST_DUE:
            return
        sub.cancel()
        sub.cancelled_at = now
        sub.end()
        sub.ended_at = now
        sub.save(update_fields=["status", "cancelled_at", "ended_at", "updated_at"])
        Invoice.objects.filter(subscription=sub, status=Invoice.Status.OPEN).update(
            next_payment_attempt=None)
        _changed(sub, Subscription.Status.PAST_DUE,
                 f"Subscription cancelled: unpaid {grace_days()} days after the payment "
                 "failed", "billing.subscription.cancelled",
                 data={"reason": "unpaid", "past_due_since": sub.past_due_since})
        _email(sub.workspace_id, f"Subscription cancelled: {sub.workspace}",
               [f"The subscription of {sub.workspace} to {sub.plan} was cancelled because "
                f"its invoice was still unpaid {grace_days()} days after the payment "
                "failed.", "Subscribe again at any time to restore the plan."])


def run_due(now: datetime | None = None, workspace_id: int | None = None) -> dict:
    """Retries that are due, recoveries (invoices paid by staff), and cancellations after
    the grace period.  ``now`` defaults to each workspace's billing clock; without
    ``workspace_id`` workspaces on a test clock are left to their clock."""
    counts = {"retried": 0, "paid": 0, "recovered": 0, "cancelled": 0}
    frozen = set() if workspace_id is not None else clock.frozen_workspace_ids()

    def scoped(queryset):
        if workspace_id is not None:
            return queryset.filter(workspace_id=workspace_id)
        return queryset.exclude(workspace_id__in=frozen) if frozen else queryset

    def at(ws: int) -> datetime:
        return now or clock.now(ws)

    from . import payments

    horizon = now or timezone.now()
    if workspace_id is not None and now is None:
        horizon = clock.now(workspace_id)
    due = scoped(Invoice.objects.filter(status=Invoice.Status.OPEN,
                                        next_payment_attempt__isnull=False,
                                        next_payment_attempt__lte=horizon))
    for inv in due.order_by("next_payment_attempt", "id"):
        when = at(inv.workspace_id)
        if inv.next_payment_attempt > when:
            continue
        result = payments.collect(inv, now=when)
        counts["retried"] += 1
        counts["paid"] += result.status == "succeeded"

    for sub in scoped(Subscription.objects.filter(status=Subscription.Status.PAST_DUE)):
        if not _in_dunning(sub).exists():
            with transaction.atomic():
                locked = Subscription.objects.select_for_update(of=("self",)).get(pk=sub.pk)
                if locked.status == Subscription.Status.PAST_DUE and \
                        not _in_dunning(locked).exists():
                    locked.recover()
                    locked.past_due_since = None
                    locked.save(update_fields=["status", "past_due_since", "updated_at"])
                    _changed(locked, Subscription.Status.PAST_DUE,
                             "Subscription active again: nothing left unpaid",
                             "billing.subscription.recovered")
                    counts["recovered"] += 1
            continue
        since = sub.past_due_since
        when = at(sub.workspace_id)
        if since is not None and since + timedelta(days=grace_days()) <= when:
            cancel_unpaid(sub, now=when)
            counts["cancelled"] += 1
    return counts


# --- side effects ------------------------------------------------------------------------------


def _changed(sub: Subscription, previous: str, summary: str, verb: str,
             data: dict | None = None) -> None:
    from workspaces.services.workspaces import activity_record

    activity_record(workspace=sub.workspace, actor=None, verb=verb, summary=summary,
                    target=sub, data={"previous_status": previous, "status": sub.status,
                                      **_json(data or {})})
    events.emit(SUBSCRIPTION_CHANGED, {"subscription": sub.pk, "plan": sub.plan.code,
                                       "status": sub.status, "previous_plan": sub.plan.code,
                                       "previous_status": previous,
                                       "change": verb.rsplit(".", 1)[-1]},
                workspace_id=sub.workspace_id)
    try:
        from ..entitlements import sync_workspace
    except ImportError:
        return
    workspace_id = sub.workspace_id
    transaction.on_commit(lambda: _sync(sync_workspace, workspace_id))


def _sync(fn, workspace_id: int) -> None:
    try:
        fn(workspace_id)
    except Exception:  # the status change stands; the derived fields catch up next sync
        log.exception("Entitlement sync of workspace %s failed after dunning", workspace_id)


def _json(data: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}


def _activity(invoice: Invoice, verb: str, summary: str, data: dict) -> None:
    from workspaces.services.workspaces import activity_record

    activity_record(workspace=invoice.workspace, actor=None, verb=verb, summary=summary,
                    target=invoice, data=_json(data))


def recipients(workspace_id: int) -> list[str]:
    """The workspace owner and the customer's billing address."""
    from workspaces.models import Membership

    from ..models import PaymentCustomer

    found = set(Membership.objects.filter(workspace_id=workspace_id, role="owner",
                                          user__is_active=True)
                .exclude(user__email="").values_list("user__email", flat=True))
    found.update(e for e in PaymentCustomer.objects.filter(workspace_id=workspace_id)
                 .values_list("email", flat=True) if e)
    return sorted(found)


def _email(workspace_id: int, subject: str, lines: list[str]) -> None:
    to = recipients(workspace_id)

    def deliver():
        if to:
            try:
                send_mail(subject, "\n\n".join(lines), settings.DEFAULT_FROM_EMAIL, to)
            except Exception:  # a mail outage must not undo the billing change
                log.exception("Dunning email to workspace %s could not be sent", workspace_id)

    transaction.on_commit(deliver)


def _email_failure(invoice: Invoice, failures: int) -> None:
    try:
        from ..money import format_money

        amount = format_money(int(invoice.amount_due), invoice.currency)
    except ImportError:
        amount = f"{invoice.amount_due} {invoice.currency} (minor units)"
    lines = [f"We could not collect the payment of invoice {invoice.number or invoice.pk} "
             f"({amount}): {invoice.last_payment_error}"]
    if invoice.next_payment_attempt is not None:
        lines.append(f"We will try again on {invoice.next_payment_attempt:%Y-%m-%d %H:%M} "
                     "UTC. Please check or update the payment method before then.")
    else:
        lines.append("No more automatic attempts are scheduled: please pay the invoice or "
                     "update the payment method.")
    if invoice.subscription_id:
        lines.append(f"The subscription is past due and will be cancelled if the invoice "
                     f"is still unpaid {grace_days()} days after the first failed payment.")
    _email(invoice.workspace_id,
           f"Payment failed (attempt {failures}): invoice {invoice.number or invoice.pk}",
           lines)


__all__ = ["cancel_unpaid", "next_attempt", "payment_failed", "payment_recovered",
           "recipients", "run_due"]

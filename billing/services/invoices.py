"""Invoice state changes, the PDF, and the beat's generation of due invoices.

States: draft -> open -> paid / void / uncollectible (``Invoice``'s transitions).  A
change the state does not allow is a 409 ``invalid_state``.  Voiding, marking paid
and marking uncollectible are staff decisions: ``by`` must be staff with the
``billing.change_invoice`` permission (superusers pass); ``by=None`` is the system
itself (a provider's webhook, a task).  Each change locks the invoice row, writes a
workspace activity (``billing.invoice.<what>``) and emits its event after commit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import can_proceed

from core.api.errors import ApiError

from .. import clock
from ..invoicing import batch, pdf, run_cache
from ..invoicing.finalize import emit_paid, finalize_locked
from ..models import Invoice, InvoiceLine, Subscription
from ..money import format_money

log = logging.getLogger(__name__)
S = Invoice.Status
PERMISSION = "billing.change_invoice"
#: Line kinds an invoice took from the subscription's pending lines (see ``void``).
_TAKEN_KINDS = (InvoiceLine.Kind.PRORATION, InvoiceLine.Kind.ONE_OFF)


def may_manage(user) -> bool:
    return bool(user is not None and getattr(user, "is_active", False) and user.is_staff
                and user.has_perm(PERMISSION))


def require_staff(by) -> None:
    if by is not None and not may_manage(by):
        raise ApiError(403, "permission_denied", "Only staff with the permission to change "
                                                 "invoices may do this.")


def _locked(invoice: Invoice) -> Invoice:
    return (Invoice.objects.select_for_update(of=("self",))
            .select_related("issuer", "workspace").get(pk=invoice.pk))


def _refuse(invoice: Invoice, what: str) -> ApiError:
    return ApiError(409, "invalid_state",
                    f"Invoice {invoice} is {invoice.get_status_display().lower()}: it cannot "
                    f"be {what}.", errors={"status": [invoice.status]})


def _activity(invoice: Invoice, by, what: str, summary: str, **data) -> None:
    from workspaces.services.workspaces import activity_record

    activity_record(workspace=invoice.workspace, actor=by, verb=f"billing.invoice.{what}",
                    summary=summary, target=invoice, data={"number": invoice.number, **data})


def _user(by):
    return by if getattr(by, "pk", None) else None


@transaction.atomic
def finalize(invoice: Invoice, *, by=None) -> Invoice:
    """A draft gets its number and opens (paid at once when nothing is due)."""
    invoice = _locked(invoice)
    if not can_proceed(invoice.finalize):
        raise _refuse(invoice, "finalised")
    return finalize_locked(invoice, by=_user(by))


@transaction.atomic
def mark_paid(invoice: Invoice, by=None, amount: int | None = None,
              reference: str = "") -> Invoice:
    """Record a payment (manual transfer, or the provider's confirmation).  ``amount``
    defaults to what is still due; less keeps the invoice open with the part paid."""
    require_staff(by)
    invoice = _locked(invoice)
    if not can_proceed(invoice.mark_paid):
        raise _refuse(invoice, "marked paid")
    outstanding = invoice.amount_due - invoice.amount_paid
    amount = outstanding if amount is None else amount
    if not isinstance(amount, int) or amount <= 0 or amount > max(outstanding, 0):
        raise ApiError(400, "invalid", f"The amount must be a whole number of minor units "
                                       f"from 1 to the {outstanding} still due.",
                       errors={"amount": [f"Between 1 and {outstanding}."]})
    invoice.amount_paid += amount
    reference = (reference or "").strip()[:120]
    if reference:
        invoice.metadata = {**invoice.metadata, "payment_reference": reference}
    money = format_money(amount, invoice.currency)
    if invoice.amount_paid < invoice.amount_due:
        invoice.save(update_fields=["amount_paid", "metadata", "updated_at"])
        _activity(invoice, _user(by), "payment_recorded",
                  f"{money} received on invoice {invoice.number}", amount=amount,
                  reference=reference)
        return invoice
    invoice.mark_paid()
    invoice.paid_at = clock.now(invoice.workspace_id)
    invoice.next_payment_attempt = None
    invoice.save()
    _activity(invoice, _user(by), "paid", f"Invoice {invoice.number} paid ({money})",
              amount=amount, reference=reference)
    emit_paid(invoice)
    return invoice


@transaction.atomic
def mark_uncollectible(invoice: Invoice, by=None) -> Invoice:
    """Written off: stays payable (a later payment marks it paid) but is not chased."""
    require_staff(by)
    invoice = _locked(invoice)
    if not can_proceed(invoice.mark_uncollectible):
        raise _refuse(invoice, "marked uncollectible")
    invoice.mark_uncollectible()
    invoice.next_payment_attempt = None
    invoice.save()
    _activity(invoice, _user(by), "uncollectible",
              f"Invoice {invoice.number} marked uncollectible")
    return invoice


@transaction.atomic
def void(invoice: Invoice, by=None) -> Invoice:
    """Cancelled: nothing is owed.  Its period may be invoiced again, so what it took
    is given back: the pending lines it billed (prorations, one-offs) are pending again,
    a coupon period it used is returned, and credits it applied are refunded."""
    require_staff(by)
    invoice = _locked(invoice)
    if not can_proceed(invoice.void):
        raise _refuse(invoice, "voided")
    invoice.void()
    invoice.voided_at = clock.now(invoice.workspace_id)
    invoice.next_payment_attempt = None
    invoice.save()
    _give_back(invoice)
    _activity(invoice, _user(by), "voided", f"Invoice {invoice.number or invoice.pk} voided")
    return invoice


def _give_back(invoice: Invoice) -> None:
    if invoice.subscription_id is None:
        return
    lines = list(invoice.lines.all())
    again = [InvoiceLine(workspace_id=line.workspace_id, subscription_id=line.subscription_id,
                         kind=line.kind, description=line.description, metric=line.metric,
                         quantity=line.quantity, unit_amount=line.unit_amount,
                         amount=line.amount, currency=line.currency,
                         period_start=line.period_start, period_end=line.period_end,
                         metadata={**line.metadata, "rebilled_from": invoice.pk})
             for line in lines if line.kind in _TAKEN_KINDS
             and (line.metadata or {}).get("carry") != "out"]
    InvoiceLine.objects.bulk_create(again)
    if any(line.kind == InvoiceLine.Kind.DISCOUNT for line in lines):
        Subscription.objects.filter(pk=invoice.subscription_id, coupon_periods_used__gt=0) \
            .update(coupon_periods_used=F("coupon_periods_used") - 1)
    if invoice.credits_applied:
        from . import credits

        value = Decimal(settings.BILLING_CREDIT_VALUE_MINOR)
        credits.refund(invoice.workspace_id, Decimal(invoice.credits_applied) / value,
                       reference=f"invoice:{invoice.pk}:void")


def pdf_bytes(invoice: Invoice) -> bytes:
    invoice = Invoice.objects.select_related("issuer", "customer", "workspace").get(
        pk=invoice.pk)
    return pdf.render(invoice)


def pdf_filename(invoice: Invoice) -> str:
    return pdf.filename(invoice)


def due_subscriptions(now: datetime | None = None, workspace_id: int | None = None):
    """Active subscriptions whose current period has ended: the same rule as the
    renewal (``billing.services.subscriptions.advance``): a trial period is not invoiced,
    a paused subscription is not billed, and a past-due one is left to dunning.

    Real-time runs (no ``now``, no workspace) leave workspaces on a test clock to
    their clock; for one workspace, ``now`` defaults to its clock."""
    subs = Subscription.objects.filter(status=Subscription.Status.ACTIVE)
    if workspace_id is not None:
        subs = subs.filter(workspace_id=workspace_id)
        now = now or clock.now(workspace_id)
    elif now is None:
        subs = subs.exclude(workspace_id__in=clock.frozen_workspace_ids())
        now = timezone.now()
    return subs.filter(current_period_end__lte=now).order_by("current_period_end", "id")


def generate_due(now: datetime | None = None, workspace_id: int | None = None) -> int:
    """Invoices created for every due subscription's ended period (each exactly once,
    whoever else generates it meanwhile: the renewal does too), in batches
    (``billing.invoicing.batch``)."""
    due = list(due_subscriptions(now, workspace_id)
               .values_list("id", "current_period_start", "current_period_end"))
    with run_cache.using():
        return batch.generate_many(due)

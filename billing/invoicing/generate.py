"""One invoice per subscription and period, however often and however concurrently
generation runs (beat, a subscription's renewal, a test clock's advance).

Exactly once: the subscription row is locked (``SELECT ... FOR UPDATE``) and the
period's invoice looked for under that lock; two runs for the same subscription queue
on the lock and the second finds the first's invoice.  The unique constraint
(subscription, period_start) stays the backstop: an insert that loses to it creates
nothing.  In one transaction: the invoice, its new lines, the pending lines it takes,
the coupon period, the credits applied, the number (taken last, see ``numbering``).
Payment collection (``billing.services.payments.collect``) runs after commit: a
provider is never charged for an invoice that rolled back.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction

from core.api.errors import ApiError

from ..models import Invoice, InvoiceLine, IssuingAccount, Subscription
from . import discounts, run_cache
from .finalize import finalize_locked
from .totals import draft_for

log = logging.getLogger(__name__)
S = Invoice.Status


def default_issuer() -> IssuingAccount:
    """The default issuing account; the oldest one if none is marked; one named after
    the site (to be completed by staff) when there is none at all, so renewals never
    stop for want of configuration."""
    cache = run_cache.current()
    if cache is not None and "issuer" in cache:
        return cache["issuer"]
    issuer = (IssuingAccount.objects.filter(is_default=True).first()
              or IssuingAccount.objects.order_by("id").first())
    if issuer is not None:
        if cache is not None:
            cache["issuer"] = issuer
        return issuer
    try:
        with transaction.atomic():
            issuer = IssuingAccount.objects.create(name="Synapscale", is_default=True)
    except IntegrityError:  # created meanwhile by a concurrent run
        return IssuingAccount.objects.get(is_default=True)
    log.warning("No issuing account existed: created %r; complete its details in the admin.",
                issuer.name)
    return issuer


def existing(sub: Subscription, start: datetime) -> Invoice | None:
    return (Invoice.objects.filter(subscription=sub, period_start=start)
            .exclude(status=S.VOID).first())


def generate_for_period(sub: Subscription, start: datetime, end: datetime) -> Invoice | None:
    """The invoice of ``sub`` for ``[start, end)``, finalised; None when that period
    already has one (a second run creates nothing)."""
    if end <= start:
        raise ApiError(400, "invalid", "A billing period ends after it starts.",
                       errors={"period_end": ["Must be after period_start."]})
    with transaction.atomic():
        sub = (Subscription.objects.select_for_update(of=("self",))
               .select_related("plan", "coupon", "workspace").get(pk=sub.pk))
        if existing(sub, start) is not None:
            return None
        invoice = _create(sub, start, end)
        if invoice is None:
            return None
    if invoice.status == S.OPEN:
        transaction.on_commit(lambda: collect(invoice))
    return invoice


def _create(sub: Subscription, start: datetime, end: datetime) -> Invoice | None:
    draft = draft_for(sub, start, end)
    invoice = Invoice(workspace=sub.workspace, subscription=sub, customer=draft.customer,
                      issuer=default_issuer(), currency=draft.currency, period_start=start,
                      period_end=end, subtotal=draft.subtotal, discount=draft.discount,
                      tax_rate=draft.tax_rate, tax=draft.tax, total=draft.total,
                      amount_due=draft.total)
    try:
        with transaction.atomic():
            invoice.save()
    except IntegrityError:
        if Invoice.objects.filter(subscription=sub, period_start=start).exclude(
                status=S.VOID).exists():
            return None  # the backstop: another run's invoice won
        raise
    taken_ids = [line.pk for line in draft.lines if line.pk is not None]
    new = [line for line in draft.all_lines if line.pk is None]
    for line in new:
        line.invoice = invoice
    carried_in = draft.carry_lines[1:]  # pending for the next invoice
    InvoiceLine.objects.bulk_create([*new, *carried_in])
    if taken_ids:
        taken = (InvoiceLine.objects.filter(pk__in=taken_ids, invoice__isnull=True)
                 .update(invoice=invoice))
        if taken != len(taken_ids):
            raise ApiError(409, "conflict", "Pending lines of this subscription were billed "
                                            "by another invoice meanwhile; try again.")
    if draft.coupon_used:
        discounts.record_use(sub)
    apply_credits(invoice)
    return finalize_locked(invoice)


def apply_credits(invoice: Invoice) -> None:
    """Pay what the workspace's credits cover (``billing.services.credits``)."""
    from ..services import credits

    if invoice.total <= 0:
        return
    applied = int(credits.apply_to_invoice(invoice) or 0)
    invoice.credits_applied = max(0, min(applied, invoice.total))
    invoice.amount_due = invoice.total - invoice.credits_applied


def collect(invoice: Invoice) -> None:
    """Ask the payment provider for an open invoice's amount (after commit)."""
    from ..services import payments

    try:
        payments.collect(invoice)
    except Exception:  # the invoice stands; dunning retries a failed collection
        log.exception("Collecting invoice %s failed", invoice.number)


def collect_many(invoices: list[Invoice]) -> None:
    """``collect`` for a batch: invoices whose provider charges nothing are passed over
    in one query instead of one locked look each."""
    from ..services import payments

    try:
        due = payments.chargeable([i.pk for i in invoices])
    except Exception:
        log.exception("Sorting a batch of %s invoices for collection failed", len(invoices))
        return
    for invoice in due:
        collect(invoice)

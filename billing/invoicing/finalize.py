"""Finalising: a draft gets its number and dates and opens (or is paid at once when
nothing is due).  Shared by generation and the ``finalize`` service."""

from __future__ import annotations

from datetime import timedelta

from core import events

from .. import clock
from .. import events as billing_events
from ..models import Invoice
from . import numbering


def finalize_locked(invoice: Invoice, *, by=None) -> Invoice:
    """Number, date and open ``invoice`` (a draft the caller has locked, in its
    transaction: the number is taken last, so the issuer's lock is held briefly)."""
    from workspaces.services.workspaces import activity_record

    stamp(invoice, *numbering.next_number(invoice.issuer), now=clock.now(invoice.workspace_id))
    invoice.save()
    activity_record(workspace=invoice.workspace, actor=by, **activity_fields(invoice))
    announce(invoice)
    return invoice


def stamp(invoice: Invoice, sequence: int, number: str, *, now) -> None:
    """The finalised state on the (unsaved) row: number, dates, open, or paid at once
    when nothing is due."""
    invoice.sequence, invoice.number = sequence, number
    invoice.issued_at = now
    invoice.due_at = now + timedelta(days=invoice.issuer.payment_terms_days)
    invoice.amount_due = max(0, invoice.total - invoice.credits_applied)
    invoice.finalize()
    if invoice.amount_due == 0:
        invoice.mark_paid()
        invoice.paid_at = now


def activity_fields(invoice: Invoice) -> dict:
    return {"verb": "billing.invoice.finalized", "target": invoice,
            "summary": f"Invoice {invoice.number} issued: {_money(invoice)} due",
            "data": {"number": invoice.number, "total": invoice.total,
                     "amount_due": invoice.amount_due}}


def announce(invoice: Invoice) -> None:
    """INVOICE_FINALIZED (and INVOICE_PAID when paid at once), after commit."""
    events.emit(billing_events.INVOICE_FINALIZED,
                {"invoice": invoice.pk, "number": invoice.number, "total": invoice.total,
                 "amount_due": invoice.amount_due, "currency": invoice.currency},
                workspace_id=invoice.workspace_id)
    if invoice.status == Invoice.Status.PAID:
        emit_paid(invoice)


def emit_paid(invoice: Invoice) -> None:
    events.emit(billing_events.INVOICE_PAID,
                {"invoice": invoice.pk, "number": invoice.number,
                 "amount_paid": invoice.amount_paid, "currency": invoice.currency},
                workspace_id=invoice.workspace_id)


def _money(invoice: Invoice) -> str:
    from ..money import format_money

    return format_money(invoice.amount_due, invoice.currency)

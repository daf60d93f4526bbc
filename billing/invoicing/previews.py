"""The next invoice of a subscription, as it stands now: a dry run that saves nothing.

The same computation as generation (``totals.draft_for``) over the current period
with the usage recorded so far; credits are an estimate from the balance now (what
``billing.services.credits`` would apply), and no number is taken.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from .. import clock
from ..models import InvoiceLine, Subscription
from .totals import draft_for


def _line(line: InvoiceLine) -> dict:
    return {"kind": line.kind, "description": line.description, "metric": line.metric,
            "quantity": str(Decimal(line.quantity).normalize()),
            "unit_amount": str(Decimal(line.unit_amount).normalize()),
            "amount": int(line.amount), "pending": line.pk is not None}


def _credits_available(workspace_id: int) -> int | None:
    from ..services import credits

    balance = Decimal(credits.balance(workspace_id) or 0)
    return int(balance * settings.BILLING_CREDIT_VALUE_MINOR)


def preview(sub: Subscription, now=None) -> dict:
    sub = Subscription.objects.select_related("plan", "coupon").get(pk=sub.pk)
    now = now or clock.now(sub.workspace_id)
    start, end = sub.current_period_start, sub.current_period_end
    draft = draft_for(sub, start, end)
    available = _credits_available(sub.workspace_id)
    credits = min(available, draft.total) if available and draft.total > 0 else 0
    return {
        "subscription": sub.pk, "workspace": sub.workspace_id, "plan": sub.plan.code,
        "currency": draft.currency, "period_start": start, "period_end": end, "as_of": now,
        "lines": [_line(line) for line in draft.all_lines],
        "subtotal": draft.subtotal, "discount": draft.discount,
        "coupon": sub.coupon.code if draft.discount else None,
        "tax_rate": str(draft.tax_rate), "tax": draft.tax, "total": draft.total,
        "credits_applied": credits, "amount_due": draft.total - credits,
        "carried_to_next": draft.carried,
    }

"""Charging a workspace through billing: credits now, or a line on the next invoice.

* **Credits**: ``billing.services.credits.consume`` under billing's ledger lock, with
  the purchase's reference, so a replay takes nothing twice and too small a balance is
  billing's 402 ``insufficient_credits`` (nothing taken).  The price in minor units is
  converted at ``BILLING_CREDIT_VALUE_MINOR`` per credit, rounded *up* to the ledger's
  4 decimal places (a fraction of a credit is never given away).
* **Invoice**: a pending one-off line on the workspace's live subscription, which its
  next invoice takes (as billing's proration lines are).  Billing offers no service
  for a one-off line yet, so the line is written here exactly as billing writes its
  own pending lines (``invoice=None``, the subscription, kind ``one_off``) under the
  subscription's row lock; see the report of issue 15 for moving it into billing.
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal

from billing import clock
from billing.models import CreditTransaction, InvoiceLine, Subscription
from billing.services import credits
from billing.services.subscriptions import live_subscription
from core.api.errors import ApiError

QUANTUM = Decimal("0.0001")  # the ledger's precision


def credits_for(price_minor: int) -> Decimal:
    return (Decimal(price_minor) / credits.credit_value_minor()).quantize(
        QUANTUM, rounding=ROUND_UP)


def charge_credits(*, workspace_id: int, component, reference: str) -> CreditTransaction:
    return credits.consume(
        workspace_id, credits_for(component.price), reference=reference,
        source_type="marketplace.marketplacecomponent", source_id=str(component.pk),
        description=f"Marketplace: {component.name}"[:300])


def charge_invoice(*, workspace_id: int, component, reference: str) -> InvoiceLine:
    sub = live_subscription(workspace_id)
    if sub is None:
        raise ApiError(400, "no_subscription", "Paying on the invoice needs a live "
                       "subscription; pay with credits instead.",
                       errors={"method": ["The workspace has no live subscription."]})
    sub = Subscription.objects.select_for_update(of=("self",)).select_related("plan") \
        .get(pk=sub.pk)
    if sub.plan.currency != component.currency:
        raise ApiError(400, "currency_mismatch",
                       f"{component.name} is priced in {component.currency}, the "
                       f"subscription bills in {sub.plan.currency}.",
                       errors={"method": ["The subscription bills in another currency."]})
    line = InvoiceLine(
        workspace_id=workspace_id, invoice=None, subscription=sub,
        kind=InvoiceLine.Kind.ONE_OFF, description=f"Marketplace: {component.name}"[:300],
        quantity=Decimal(1), unit_amount=Decimal(component.price), amount=component.price,
        currency=component.currency, period_start=clock.now(workspace_id), period_end=None,
        metadata={"source": "marketplace", "component": component.slug,
                  "reference": reference})
    line.save()
    return line

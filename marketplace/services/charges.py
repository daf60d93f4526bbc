"""Charging a workspace through billing: credits now, or a line on the next invoice.

* **Credits**: ``billing.services.credits.consume`` under billing's ledger lock, with
  the purchase's reference, so a replay takes nothing twice and too small a balance is
  billing's 402 ``insufficient_credits`` (nothing taken).  The price in minor units is
  converted at ``BILLING_CREDIT_VALUE_MINOR`` per credit, rounded *up* to the ledger's
  4 decimal places (a fraction of a credit is never given away).
* **Invoice**: a pending one-off line on the workspace's live subscription, which its
  next invoice takes (``billing.services.charges.one_off_charge``).
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal

from billing.models import CreditTransaction, InvoiceLine
from billing.services import charges, credits

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
    return charges.one_off_charge(
        workspace_id=workspace_id, amount_minor=component.price, currency=component.currency,
        description=f"Marketplace: {component.name}",
        metadata={"source": "marketplace", "component": component.slug,
                  "reference": reference})

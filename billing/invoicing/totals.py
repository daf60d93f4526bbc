"""An invoice's figures before anything is saved: what ``generate`` writes and what
``preview`` shows are the same computation.

A period whose lines add up to less than zero (a downgrade's credit larger than the
fee) is not a negative invoice: the balance is carried to the next invoice as a
pending line, and this one totals zero.  Tax is never charged on a negative amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ..models import InvoiceLine, PaymentCustomer, Subscription
from ..money import percent_of
from . import discounts
from .lines import Known, lines_for_period

Kind = InvoiceLine.Kind


@dataclass
class Draft:
    subscription: Subscription
    start: datetime
    end: datetime
    currency: str
    customer: PaymentCustomer | None
    lines: list[InvoiceLine]  # fee, pending (saved rows), usage, carry-over
    discount_line: InvoiceLine | None = None
    subtotal: int = 0
    discount: int = 0
    tax_rate: Decimal = Decimal(0)
    tax: int = 0
    total: int = 0
    carried: int = 0  # minor units credited to the next invoice (a negative balance)
    carry_lines: list[InvoiceLine] = field(default_factory=list)  # [here, next], unsaved

    @property
    def coupon_used(self) -> bool:
        return self.discount > 0

    @property
    def all_lines(self) -> list[InvoiceLine]:
        return [*self.lines, *self.carry_lines[:1],
                *([self.discount_line] if self.discount_line else [])]


def customer_of(workspace_id: int) -> PaymentCustomer | None:
    return PaymentCustomer.objects.filter(workspace_id=workspace_id).first()


def draft_for(sub: Subscription, start: datetime, end: datetime, *,
              known: Known | None = None) -> Draft:
    customer = customer_of(sub.workspace_id) if known is None else known.customer
    currency = sub.plan.currency
    draft = Draft(subscription=sub, start=start, end=end, currency=currency,
                  customer=customer, lines=lines_for_period(sub, start, end, known=known),
                  tax_rate=Decimal(customer.tax_rate) if customer else Decimal(0))
    subtotal = sum(int(line.amount) for line in draft.lines)
    if subtotal < 0:
        draft.carried = -subtotal
        draft.carry_lines = _carry(sub, draft.carried, currency, start, end)
        subtotal = 0
    draft.subtotal = subtotal
    draft.discount = discounts.discount_for(sub, subtotal, currency)
    if draft.discount:
        draft.discount_line = discounts.discount_line(sub, draft.discount, currency, start, end)
    taxable = subtotal - draft.discount
    draft.tax = percent_of(taxable, draft.tax_rate) if taxable > 0 else 0
    draft.total = taxable + draft.tax
    return draft


def _carry(sub, amount: int, currency: str, start, end) -> list[InvoiceLine]:
    common = {"workspace_id": sub.workspace_id, "subscription": sub, "kind": Kind.ONE_OFF,
              "quantity": 1, "currency": currency}
    period = f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"
    return [
        InvoiceLine(**common, description="Credit balance carried to the next invoice",
                    unit_amount=amount, amount=amount, period_start=start, period_end=end,
                    metadata={"carry": "out"}),
        InvoiceLine(**common, description=f"Credit balance carried from the period {period}",
                    unit_amount=-amount, amount=-amount, period_start=end, period_end=None,
                    metadata={"carry": "in"}),
    ]

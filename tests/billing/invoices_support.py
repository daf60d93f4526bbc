"""What the invoice tests share: a subscription on a test clock over January 2026, and
pending lines the way ``billing.services.subscriptions.change_plan`` writes them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from core import events
from tests.factories import (
    PaymentCustomerFactory,
    PlanFactory,
    SubscriptionFactory,
    TestClockFactory,
    WorkspaceFactory,
)

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
MAR = datetime(2026, 3, 1, tzinfo=UTC)
APR = datetime(2026, 4, 1, tzinfo=UTC)


def subscription(*, price=3000, plan=None, workspace=None, tax_rate=None, coupon=None,
                 clock_at=FEB, **fields):
    """An active subscription for ``[JAN, FEB)`` whose workspace's clock reads ``clock_at``
    (invoices are dated by it); a payment customer when ``tax_rate`` is given."""
    workspace = workspace or WorkspaceFactory()
    plan = plan or PlanFactory(price=price, name="Pro")
    if clock_at is not None:
        TestClockFactory(workspace=workspace, frozen_time=clock_at)
    if tax_rate is not None:
        PaymentCustomerFactory(workspace=workspace, tax_rate=Decimal(tax_rate),
                               name="Acme Lda", address="Rua 1\nPorto")
    fields.setdefault("current_period_start", JAN)
    fields.setdefault("current_period_end", FEB)
    return SubscriptionFactory(workspace=workspace, plan=plan, coupon=coupon, started_at=JAN,
                               **fields)


def move_to(sub, start, end, clock_at):
    """The subscription's next period, as the renewal sets it (and the clock moved)."""
    from billing.models import TestClock

    sub.current_period_start, sub.current_period_end = start, end
    sub.save(update_fields=["current_period_start", "current_period_end"])
    TestClock.objects.filter(workspace_id=sub.workspace_id).update(frozen_time=clock_at)


def pending(sub, amount: int, *, kind="proration", plan=None, role="", at=None, **fields):
    from billing.models import InvoiceLine

    metadata = {"plan": plan.code, "role": role} if plan is not None else {}
    return InvoiceLine.objects.create(
        workspace_id=sub.workspace_id, subscription=sub, invoice=None, kind=kind,
        description=fields.pop("description", f"{kind} {amount}"), quantity=Decimal(1),
        unit_amount=Decimal(amount), amount=amount, currency="USD",
        period_start=at or sub.current_period_start, period_end=sub.current_period_end,
        metadata=metadata, **fields)


class Heard:
    """Events dispatched while in use (``with Heard() as heard:``)."""

    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)

    def names(self) -> list[str]:
        return [e.name for e in self.events]

    def __enter__(self):
        events.subscribe(self)
        return self

    def __exit__(self, *exc):
        events.unsubscribe(self)

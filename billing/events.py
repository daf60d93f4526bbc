"""The domain events billing emits (core.events)."""

from __future__ import annotations

from core import events

SUBSCRIPTION_CHANGED = "billing.subscription.changed"
INVOICE_FINALIZED = "billing.invoice.finalized"
INVOICE_PAID = "billing.invoice.paid"
PAYMENT_FAILED = "billing.payment.failed"
LIMIT_REACHED = "billing.limit.reached"


def register() -> None:
    events.register(SUBSCRIPTION_CHANGED, version=1,
                    description="A subscription started, changed plan or status. Payload: "
                                "subscription, plan, status, previous_plan, previous_status.")
    events.register(INVOICE_FINALIZED, version=1,
                    description="An invoice got its number and is open for payment. "
                                "Payload: invoice, number, total, amount_due, currency.")
    events.register(INVOICE_PAID, version=1,
                    description="An invoice was paid. Payload: invoice, number, amount_paid, "
                                "currency.")
    events.register(PAYMENT_FAILED, version=1,
                    description="A payment attempt failed. Payload: invoice, attempt, error, "
                                "next_attempt.")
    events.register(LIMIT_REACHED, version=1,
                    description="An action was refused by a plan limit. Payload: feature, "
                                "limit, used, resets_at.")

"""One-off charges: a pending line the workspace's next invoice takes (a marketplace
purchase, a setup fee).  Written as proration lines are: no invoice yet, the live
subscription's row locked, in the subscription's currency."""

from __future__ import annotations

from decimal import Decimal

from core.api.errors import ApiError

from .. import clock
from ..models import InvoiceLine, Subscription
from .subscriptions import live_subscription


def one_off_charge(*, workspace_id: int, amount_minor: int, currency: str, description: str,
                   metadata: dict | None = None, field: str = "method") -> InvoiceLine:
    """Add ``amount_minor`` (``currency``) to the next invoice of the workspace's live
    subscription.  400 ``no_subscription`` without one, 400 ``currency_mismatch`` when it
    bills in another currency; ``field`` names the request field those errors point at."""
    sub = live_subscription(workspace_id)
    if sub is None:
        raise ApiError(400, "no_subscription", "Paying on the invoice needs a live "
                       "subscription; pay with credits instead.",
                       errors={field: ["The workspace has no live subscription."]})
    sub = Subscription.objects.select_for_update(of=("self",)).select_related("plan") \
        .get(pk=sub.pk)
    if sub.plan.currency != currency:
        raise ApiError(400, "currency_mismatch",
                       f"{description} is priced in {currency}, the subscription bills in "
                       f"{sub.plan.currency}.",
                       errors={field: ["The subscription bills in another currency."]})
    line = InvoiceLine(
        workspace_id=workspace_id, invoice=None, subscription=sub,
        kind=InvoiceLine.Kind.ONE_OFF, description=description[:300],
        quantity=Decimal(1), unit_amount=Decimal(amount_minor), amount=amount_minor,
        currency=currency, period_start=clock.now(workspace_id), period_end=None,
        metadata=metadata or {})
    line.save()
    return line

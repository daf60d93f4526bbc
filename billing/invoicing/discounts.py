"""The subscription's coupon on an invoice: percent or amount, for one period, N periods
or forever.

A period counts (``Subscription.coupon_periods_used`` + 1) only when an invoice really
took a discount from the coupon: a free trial invoice does not use up a "once" coupon.
The discount never exceeds the subtotal, and an amount coupon in another currency
than the invoice's does not apply.  The percentage is rounded once (``billing.money``).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F

from ..models import Coupon, InvoiceLine, Subscription
from ..money import format_money, percent_of

Duration = Coupon.Duration


def coupon_applies(sub: Subscription) -> bool:
    """Has the subscription's coupon a period left?"""
    coupon = sub.coupon
    if coupon is None:
        return False
    if coupon.duration == Duration.FOREVER:
        return True
    periods = 1 if coupon.duration == Duration.ONCE else int(coupon.duration_periods or 0)
    return sub.coupon_periods_used < periods


def discount_for(sub: Subscription, subtotal: int, currency: str) -> int:
    """Minor units off ``subtotal`` (0 when no coupon applies)."""
    if subtotal <= 0 or not coupon_applies(sub):
        return 0
    coupon = sub.coupon
    if coupon.kind == Coupon.Kind.PERCENT:
        off = percent_of(subtotal, coupon.percent_off or 0)
    elif coupon.currency != currency:
        return 0
    else:
        off = int(coupon.amount_off or 0)
    return max(0, min(off, subtotal))


def describe(coupon: Coupon, currency: str) -> str:
    if coupon.kind == Coupon.Kind.PERCENT:
        value = f"{coupon.percent_off.normalize():f}% off"
    else:
        value = f"{format_money(coupon.amount_off or 0, currency)} off"
    return f"Coupon {coupon.code} ({value})"


def discount_line(sub: Subscription, amount: int, currency: str, start: datetime,
                  end: datetime) -> InvoiceLine:
    """The line showing the discount (negative; not part of the subtotal)."""
    return InvoiceLine(workspace_id=sub.workspace_id, subscription=sub,
                       kind=InvoiceLine.Kind.DISCOUNT,
                       description=describe(sub.coupon, currency)[:300],
                       quantity=1, unit_amount=-amount, amount=-amount, currency=currency,
                       period_start=start, period_end=end,
                       metadata={"coupon": sub.coupon.code,
                                 "period": sub.coupon_periods_used + 1})


def record_use(sub: Subscription) -> None:
    """One more period of the coupon used (in the invoice's transaction)."""
    Subscription.objects.filter(pk=sub.pk).update(
        coupon_periods_used=F("coupon_periods_used") + 1)
    sub.coupon_periods_used += 1

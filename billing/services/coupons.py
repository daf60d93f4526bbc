"""Coupons: may this code be redeemed now, for this plan, and the redemption itself.

``validate`` answers without writing; ``redeem`` locks the coupon row (``SELECT … FOR
UPDATE``), validates again under the lock and counts the redemption, so concurrent
redemptions queue on the row and never exceed ``max_redemptions``.  Call ``redeem``
inside the transaction that attaches the coupon to its subscription: a rollback then
gives the redemption back.

How long a coupon keeps applying is counted by invoicing (``Subscription.
coupon_periods_used``, incremented by ``billing.invoicing.generate_for_period`` for every
invoice it discounts); ``applies`` reads that count.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.api.errors import ApiError

from ..models import Coupon, Plan, Subscription

Duration = Coupon.Duration


def _refuse(code: str, message: str, field: str, status: int = 400) -> ApiError:
    return ApiError(status, code, message, errors={field: [message]})


def find(code: str, *, field: str = "coupon_code") -> Coupon:
    """The coupon with this code (codes are slugs; matched case-insensitively)."""
    code = (code or "").strip()
    coupon = Coupon.objects.filter(code__iexact=code).first() if code else None
    if coupon is None:
        raise _refuse("coupon_not_found", f"There is no coupon with the code {code!r}.", field)
    return coupon


def check(coupon: Coupon, *, plan: Plan, currency: str | None = None,
          now: datetime | None = None, field: str = "coupon_code") -> Coupon:
    """Raise the first rule ``coupon`` breaks for ``plan`` at ``now``; return it otherwise.

    Rules: active; not past ``redeem_by``; redemptions left; the plan among the coupon's
    plans (when it names any); an amount coupon in the plan's currency.
    """
    if not coupon.is_active:
        raise _refuse("coupon_inactive", f"The coupon {coupon.code} is no longer offered.",
                      field)
    now = now or timezone.now()
    if coupon.redeem_by is not None and now > coupon.redeem_by:
        raise _refuse("coupon_expired", f"The coupon {coupon.code} could be redeemed until "
                      f"{coupon.redeem_by:%Y-%m-%d %H:%M} UTC.", field)
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise _refuse("coupon_exhausted", f"The coupon {coupon.code} has been redeemed the "
                      f"{coupon.max_redemptions} times it allows.", field, status=409)
    allowed = list(coupon.plans.values_list("pk", "code"))
    if allowed and plan.pk not in {pk for pk, _ in allowed}:
        names = ", ".join(sorted(code for _, code in allowed))
        raise _refuse("coupon_not_for_plan", f"The coupon {coupon.code} applies only to the "
                      f"plans {names}, not to {plan.code}.", field)
    currency = currency or plan.currency
    if coupon.kind == Coupon.Kind.AMOUNT and coupon.currency != currency:
        raise _refuse("coupon_currency", f"The coupon {coupon.code} is an amount in "
                      f"{coupon.currency}; this plan is billed in {currency}.", field)
    return coupon


def validate(code: str, *, plan: Plan, currency: str | None = None,
             now: datetime | None = None, field: str = "coupon_code") -> Coupon:
    """The coupon ``code`` names, if it may be redeemed for ``plan`` now (nothing written)."""
    return check(find(code, field=field), plan=plan, currency=currency, now=now, field=field)


@transaction.atomic
def redeem(code: str, *, plan: Plan, currency: str | None = None,
           now: datetime | None = None, field: str = "coupon_code") -> Coupon:
    """Validate under the coupon row's lock and count one redemption; returns the coupon
    (with ``times_redeemed`` updated)."""
    found = find(code, field=field)
    coupon = Coupon.objects.select_for_update().get(pk=found.pk)
    check(coupon, plan=plan, currency=currency, now=now, field=field)
    Coupon.objects.filter(pk=coupon.pk).update(times_redeemed=F("times_redeemed") + 1)
    coupon.refresh_from_db(fields=["times_redeemed"])
    return coupon


def applies(sub: Subscription) -> bool:
    """Does the subscription's coupon still discount its next invoice?"""
    coupon = sub.coupon
    if coupon is None:
        return False
    if coupon.duration == Duration.FOREVER:
        return True
    if coupon.duration == Duration.ONCE:
        return sub.coupon_periods_used < 1
    return sub.coupon_periods_used < (coupon.duration_periods or 0)


def periods_left(sub: Subscription) -> int | None:
    """Invoices the coupon still discounts (None: every one, a forever coupon)."""
    coupon = sub.coupon
    if coupon is None:
        return 0
    if coupon.duration == Duration.FOREVER:
        return None
    total = 1 if coupon.duration == Duration.ONCE else (coupon.duration_periods or 0)
    return max(total - sub.coupon_periods_used, 0)

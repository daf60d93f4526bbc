"""The lines of a subscription's invoice for the period ``[start, end)``.

* **Fee**: the plan's price for the period (a zero line while the period lies in the
  trial).  The plan is the one in effect when the period *started*: after a mid-period
  change, the proration lines (credit the unused old plan, charge the new one for the
  remaining days) turn that fee into what was really used.  It is read from
  ``sub.metadata["period_plan"]``, else from the period's first pending proration line
  (the plan of its credit for unused time, as ``billing.services.subscriptions.
  change_plan`` writes it, or a ``from_plan``), else it is the current plan.
* **Pending lines** of the subscription (``invoice=None``: prorations, one-offs, a
  balance carried over), those dated before ``end``; the invoice takes them, so each
  is billed once.
* **Usage** above the included amount of each metered feature of the plan, summed
  over ``[start, end)`` from the usage records, at the feature's overage price; a
  staff override (``Entitlement.included``, unexpired at the period's start) replaces
  the plan's included amount: the rule of ``billing.entitlements.values``, read here
  for the subscription's own plan (an invoice may bill an ended subscription, and
  ``values`` answers for the workspace's live one).

New lines are unsaved; pending lines are the saved rows (still without an invoice).
Each amount is rounded once (``billing.money``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q

from .. import metering
from ..features import METERED, METRIC_OF
from ..models import (
    Entitlement,
    InvoiceLine,
    PaymentCustomer,
    Plan,
    PlanFeature,
    Subscription,
)
from ..money import to_minor
from . import run_cache

Kind = InvoiceLine.Kind
_PLAN_KEYS = ("from_plan", "previous_plan", "old_plan")


@dataclass
class Known:
    """What a batch already read for one subscription (``billing.invoicing.batch``)."""

    customer: PaymentCustomer | None
    pending: list[InvoiceLine]
    used: dict[str, int]
    overrides: dict[int, int]


def lines_for_period(sub: Subscription, start: datetime, end: datetime, *,
                     known: Known | None = None) -> list[InvoiceLine]:
    pending = pending_lines(sub, end) if known is None else known.pending
    plan = plan_for_period(sub, pending)
    return [fee_line(sub, plan, start, end), *pending,
            *usage_lines(sub, start, end, known=known)]


def pending_lines(sub: Subscription, end: datetime) -> list[InvoiceLine]:
    return list(InvoiceLine.objects.filter(subscription=sub, invoice__isnull=True)
                .filter(Q(period_start__isnull=True) | Q(period_start__lt=end))
                .order_by("id"))


def _plan(value) -> Plan | None:
    if isinstance(value, Plan):
        return value
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return Plan.objects.filter(pk=int(value)).first()
    if isinstance(value, str) and value:
        return Plan.objects.filter(code=value).first()
    return None


def plan_for_period(sub: Subscription, pending: list[InvoiceLine]) -> Plan:
    """The plan in effect when the period started (see the module docstring)."""
    named = (sub.metadata or {}).get("period_plan")
    for line in pending if named is None else ():
        if line.kind != Kind.PRORATION:
            continue
        meta = line.metadata or {}
        named = next((meta[k] for k in _PLAN_KEYS if meta.get(k) is not None), None)
        if named is None and meta.get("role") == "credit":
            named = meta.get("plan")  # the unused time credited is the old plan's
        if named is not None:
            break
    found = _plan(named) if named is not None else None
    return found or sub.plan


def in_trial(sub: Subscription, start: datetime, end: datetime) -> bool:
    return bool(sub.trial_end and end <= sub.trial_end)


def fee_line(sub: Subscription, plan: Plan, start: datetime, end: datetime) -> InvoiceLine:
    trial = in_trial(sub, start, end)
    amount = 0 if trial else int(plan.price)
    period = f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"
    description = f"{plan.name}, {period}" + (" (trial)" if trial else "")
    return InvoiceLine(workspace_id=sub.workspace_id, subscription=sub, kind=Kind.SUBSCRIPTION,
                       description=description[:300], quantity=Decimal(1),
                       unit_amount=Decimal(amount), amount=amount, currency=plan.currency,
                       period_start=start, period_end=end,
                       metadata={"plan": plan.code, **({"trial": True} if trial else {})})


def _overrides(sub: Subscription, start: datetime) -> dict[int, int]:
    """Staff overrides of ``included`` in effect for the period, by feature id (the same
    rows ``billing.entitlements.values`` reads, for this subscription's own plan rather
    than the workspace's live one: an invoice may bill an ended subscription)."""
    rows = (Entitlement.objects.filter(workspace_id=sub.workspace_id, included__isnull=False)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=start))
            .values_list("feature_id", "included"))
    return dict(rows)


def metered_features(plan_id: int) -> list[PlanFeature]:
    """The plan's metered features (remembered for the length of a ``run_cache``)."""
    cache = run_cache.current()
    if cache is not None and plan_id in cache.setdefault("features", {}):
        return cache["features"][plan_id]
    found = [pf for pf in PlanFeature.objects.filter(plan_id=plan_id)
             .select_related("feature").order_by("feature__key")
             if pf.feature.measure == METERED]
    if cache is not None:
        cache["features"][plan_id] = found
    return found


def usage_lines(sub: Subscription, start: datetime, end: datetime, *,
                known: Known | None = None) -> list[InvoiceLine]:
    features = metered_features(sub.plan_id)
    if not features:
        return []
    if known is None:
        used, overrides = metering.totals(sub.workspace_id, start, end), _overrides(sub, start)
    else:
        used, overrides = known.used, known.overrides
    lines = []
    for pf in features:
        key = pf.feature.key
        metric = METRIC_OF.get(key, key)
        included = int(overrides.get(pf.feature_id, pf.included))
        price = Decimal(pf.overage_price)
        over = used.get(metric, 0) - included
        if over <= 0 or price <= 0:
            continue
        amount = to_minor(over * price)
        unit = pf.feature.unit or metric
        lines.append(InvoiceLine(
            workspace_id=sub.workspace_id, subscription=sub, kind=Kind.USAGE,
            description=f"{pf.feature.name}: {over:,} {unit} above the {included:,} included",
            metric=metric, quantity=Decimal(over), unit_amount=price, amount=amount,
            currency=sub.plan.currency, period_start=start, period_end=end,
            metadata={"used": used.get(metric, 0), "included": included}))
    return lines

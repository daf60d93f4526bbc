"""Entitlements: may this workspace do X now, and how much is left?

The one place that answers, from the workspace's plan (its live subscription's, else the
default plan), the staff overrides (``Entitlement``, unexpired ones win over the plan)
and the real usage:

* metered limits (executions, tokens) sum the usage records of the billing period
  (``billing.metering``);
* gauges (agents, seats, stored bytes, schedules) are counted now by the apps that own
  them, each registering its counter with ``register_gauge`` from its ``AppConfig.ready``
  (billing imports no app: apps depend on billing, never the reverse);
* switches are on or off (a switch the plan does not list is off).

Every app asks before the action: ``require`` for gauges and switches, ``consume`` for
metered usage (checked and recorded under a row lock, so parallel starts never pass the
limit).  A refusal is ``LimitReached`` (402) naming the feature, the limit, the usage, the
amount asked for and when the limit resets.

No billing configured means no limits: a workspace without a live subscription, without
a default plan and without overrides is unlimited, found out in one query; nothing is
cached across requests, so raising a plan lifts a limit at once.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from core.api.errors import ApiError

from . import clock, metering
from .features import FEATURES, GAUGE, METERED, METRIC_OF, SWITCH
from .models import Entitlement, Plan, PlanFeature, Subscription, TestClock, UsageRecord

UNLIMITED, FROM_PLAN, FROM_OVERRIDE = "unlimited", "plan", "override"
#: ``Workspace.billing_plan`` of a workspace without a live subscription or default plan.
NO_PLAN = "none"

_gauges: dict[str, list[Callable[[int], int]]] = defaultdict(list)


class LimitReached(ApiError):
    """402: the plan does not allow this now.  ``errors`` carries the numbers:
    feature, limit, used, requested and resets_at (ISO 8601, or null for limits that are
    counted now rather than per period)."""

    def __init__(self, *, feature: str, limit: int | None, used: int, requested: int,
                 resets_at: datetime | None, code: str = "limit_reached"):
        spec = FEATURES.get(feature)
        name = spec.name if spec else feature
        unit = f" {spec.unit}" if spec and spec.unit else ""
        if code == "feature_not_in_plan":
            message = (f"{name} ({feature}) is not part of this workspace's plan; "
                       "upgrade the plan to use it.")
        else:
            when = (f"it resets at {resets_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
                    if resets_at else "free some up or upgrade the plan")
            message = (f"Plan limit reached for {name} ({feature}): {used} of {limit}{unit} "
                       f"used, {requested} more requested; {when}.")
        super().__init__(402, code, message, errors={
            "feature": feature, "limit": limit, "used": used, "requested": requested,
            "resets_at": resets_at.isoformat() if resets_at else None})
        self.feature, self.limit, self.used = feature, limit, used
        self.requested, self.resets_at = requested, resets_at


@dataclass
class Value:
    """A feature's value for a workspace: ``limit`` None is unlimited."""

    limit: int | None
    included: int
    overage_price: Decimal
    enabled: bool
    source: str  # "plan" | "override" | "unlimited"


@dataclass
class Allowance:
    """Where a workspace stands on one feature; ``resets_at`` None: counted now."""

    feature: str
    limit: int | None
    used: int
    remaining: int | None
    resets_at: datetime | None


UNLIMITED_VALUE = Value(limit=None, included=0, overage_price=Decimal(0), enabled=True,
                        source=UNLIMITED)


# --- the workspace's billing state, in one query --------------------------------------


@dataclass
class _State:
    subscription_id: int | None
    plan_id: int | None
    has_overrides: bool
    frozen: datetime | None

    @property
    def configured(self) -> bool:
        return self.plan_id is not None or self.has_overrides


def _workspace_model():
    return apps.get_model(settings.TENANCY_WORKSPACE_MODEL)


def _state(workspace_id: int) -> _State:
    """The live subscription, the plan in force, whether overrides exist and the test
    clock: one query, the whole cost of a gate for a workspace without billing."""
    live = Subscription.objects.filter(workspace_id=OuterRef("pk"), status__in=Subscription.LIVE)
    row = (_workspace_model().objects.filter(pk=workspace_id).annotate(
        _sub=Subquery(live.values("pk")[:1]),
        _sub_plan=Subquery(live.values("plan_id")[:1]),
        _default_plan=Subquery(Plan.objects.filter(is_default=True).values("pk")[:1]),
        _overrides=Exists(Entitlement.objects.filter(workspace_id=OuterRef("pk"))),
        _frozen=Subquery(TestClock.objects.filter(workspace_id=OuterRef("pk"))
                         .values("frozen_time")[:1]),
    ).values("_sub", "_sub_plan", "_default_plan", "_overrides", "_frozen").first())
    if row is None:
        return _State(None, None, False, None)
    return _State(row["_sub"], row["_sub_plan"] or row["_default_plan"], row["_overrides"],
                  row["_frozen"])


def _now(state: _State, now: datetime | None) -> datetime:
    return now or state.frozen or timezone.now()


# --- plan, subscription, period --------------------------------------------------------


def live_subscription(workspace_id: int) -> Subscription | None:
    """The workspace's trialing, active, past-due or paused subscription (one at most)."""
    return (Subscription.objects.select_related("plan")
            .filter(workspace_id=workspace_id, status__in=Subscription.LIVE).first())


def plan_of(workspace_id: int) -> Plan | None:
    """The live subscription's plan, else the default plan, else None (no limits)."""
    sub = live_subscription(workspace_id)
    if sub is not None:
        return sub.plan
    return Plan.objects.filter(is_default=True).first()


def _add_months(dt: datetime, months: int, anchor_day: int | None = None) -> datetime:
    month0 = dt.month - 1 + months
    year, month = dt.year + month0 // 12, month0 % 12 + 1
    day = min(anchor_day or dt.day, calendar.monthrange(year, month)[1])
    return dt.replace(year=year, month=month, day=day)


def _calendar_month(now: datetime) -> tuple[datetime, datetime]:
    now = now.astimezone(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start, _add_months(start, 1)


def _period_of_subscription(sub: Subscription, now: datetime) -> tuple[datetime, datetime]:
    start, end = sub.current_period_start, sub.current_period_end
    if start <= now < end:
        return start, end
    if now < start:
        return _calendar_month(now)
    # The period ended and renewal has not run yet: count in the periods that follow,
    # of the same length, so usage is not free meanwhile.
    length = end - start if end > start else timedelta(days=30)
    steps = int((now - end) / length)
    start = end + steps * length
    return start, start + length


def period_of(workspace_id: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """``[start, end)`` of the live subscription's current period; without one, the UTC
    calendar month of ``now`` (billing's clock for the workspace by default)."""
    now = now or clock.now(workspace_id)
    sub = (Subscription.objects.filter(workspace_id=workspace_id,
                                       status__in=Subscription.LIVE)
           .only("current_period_start", "current_period_end").first())
    if sub is None:
        return _calendar_month(now)
    return _period_of_subscription(sub, now)


# --- values ----------------------------------------------------------------------------


def _values(workspace_id: int, state: _State, now: datetime) -> dict[str, Value]:
    if not state.configured:
        return dict.fromkeys(FEATURES, UNLIMITED_VALUE)
    result: dict[str, Value] = {}
    plan_rows = {}
    if state.plan_id is not None:
        plan_rows = {row.feature.key: row for row in
                     PlanFeature.objects.filter(plan_id=state.plan_id).select_related("feature")}
    for key, spec in FEATURES.items():
        row = plan_rows.get(key)
        if row is not None:
            result[key] = Value(limit=row.limit, included=row.included,
                                overage_price=row.overage_price,
                                enabled=row.enabled, source=FROM_PLAN)
        elif state.plan_id is not None and spec.kind == SWITCH:
            # A switch is granted by a plan: one the plan does not list is off.
            result[key] = Value(limit=None, included=0, overage_price=Decimal(0),
                                enabled=False, source=FROM_PLAN)
        else:
            result[key] = UNLIMITED_VALUE
    if state.has_overrides:
        overrides = (Entitlement.objects.filter(workspace_id=workspace_id)
                     .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                     .select_related("feature"))
        for override in overrides:
            key = override.feature.key
            if key not in FEATURES:
                continue
            base = result[key]
            result[key] = Value(
                limit=override.limit,
                included=override.included if override.included is not None else base.included,
                overage_price=base.overage_price, enabled=override.enabled,
                source=FROM_OVERRIDE)
    return result


def values(workspace_id: int, now: datetime | None = None) -> dict[str, Value]:
    """Every feature's value: the plan's, overridden by unexpired staff overrides;
    unlimited without a plan (or for limits the plan does not set)."""
    state = _state(workspace_id)
    return _values(workspace_id, state, _now(state, now))


def enabled(workspace_id: int, key: str) -> bool:
    """Is the switch ``key`` on for the workspace?"""
    return values(workspace_id)[key].enabled


# --- usage -----------------------------------------------------------------------------


def register_gauge(key: str, fn: Callable[[int], int]) -> None:
    """Count ``key`` (a gauge feature) for a workspace id with ``fn``; the counters
    registered for one key are summed.  Registering the same function twice is ignored."""
    if key not in FEATURES or FEATURES[key].measure != GAUGE:
        raise ValueError(f"{key!r} is not a gauge feature of billing.features.")
    if fn not in _gauges[key]:
        _gauges[key].append(fn)


def _gauge(workspace_id: int, key: str) -> int:
    return sum(int(fn(workspace_id) or 0) for fn in _gauges.get(key, ()))


def _used(workspace_id: int, key: str, period: tuple[datetime, datetime]) -> int:
    spec = FEATURES[key]
    if spec.measure == METERED:
        return metering.total(workspace_id, METRIC_OF[key], *period)
    if spec.measure == GAUGE:
        return _gauge(workspace_id, key)
    return 0


def _period(workspace_id: int, state: _State, now: datetime) -> tuple[datetime, datetime]:
    if state.subscription_id is None:
        return _calendar_month(now)
    sub = (Subscription.objects.filter(pk=state.subscription_id)
           .only("current_period_start", "current_period_end").first())
    if sub is None:
        return _calendar_month(now)
    return _period_of_subscription(sub, now)


def _allowance(workspace_id: int, key: str, value: Value,
               period: tuple[datetime, datetime] | None) -> Allowance:
    spec = FEATURES[key]
    if spec.kind == SWITCH:
        limit = None if value.enabled else 0
        return Allowance(feature=key, limit=limit, used=0, remaining=limit, resets_at=None)
    used = _used(workspace_id, key, period)
    remaining = None if value.limit is None else max(0, value.limit - used)
    resets_at = period[1] if spec.measure == METERED else None
    return Allowance(feature=key, limit=value.limit, used=used, remaining=remaining,
                     resets_at=resets_at)


def allowance(workspace_id: int, key: str, now: datetime | None = None) -> Allowance:
    """Limit, usage and what is left of ``key`` now (resets_at: the period's end for
    metered limits)."""
    if key not in FEATURES:
        raise KeyError(f"Unknown feature {key!r}.")
    state = _state(workspace_id)
    now = _now(state, now)
    value = _values(workspace_id, state, now)[key]
    return _allowance(workspace_id, key, value, _period(workspace_id, state, now))


def allowances(workspace_id: int, now: datetime | None = None) -> list[Allowance]:
    """Every feature's allowance, in catalogue order (for the API and the admin)."""
    state = _state(workspace_id)
    now = _now(state, now)
    vals = _values(workspace_id, state, now)
    period = _period(workspace_id, state, now)
    return [_allowance(workspace_id, key, vals[key], period) for key in FEATURES]


# --- the gates -------------------------------------------------------------------------


def _check(workspace_id: int, key: str, amount: int, state: _State, now: datetime,
           value: Value) -> Allowance:
    spec = FEATURES[key]
    if spec.kind == SWITCH:
        if not value.enabled:
            raise LimitReached(feature=key, limit=0, used=0, requested=amount,
                               resets_at=None, code="feature_not_in_plan")
        return Allowance(feature=key, limit=None, used=0, remaining=None, resets_at=None)
    period = _period(workspace_id, state, now) if spec.measure == METERED else None
    current = _allowance(workspace_id, key, value, period)
    if value.limit is not None and current.used + amount > value.limit:
        raise LimitReached(feature=key, limit=value.limit, used=current.used,
                           requested=amount, resets_at=current.resets_at)
    return current


def _unchecked(key: str) -> Allowance:
    """What a gate answers when no limit applies (usage is not counted then)."""
    return Allowance(feature=key, limit=None, used=0, remaining=None, resets_at=None)


def require(workspace_id: int, key: str, amount: int = 1) -> Allowance:
    """Allow ``amount`` more of ``key`` now, or raise ``LimitReached`` (402
    ``limit_reached``; a switch that is off: 402 ``feature_not_in_plan``).

    For gauges and switches; metered usage goes through ``consume``, which records it.
    With no limit in force only one query is made and ``used`` is not counted (0).
    """
    if key not in FEATURES:
        raise KeyError(f"Unknown feature {key!r}.")
    state = _state(workspace_id)
    if not state.configured:
        return _unchecked(key)
    now = _now(state, None)
    value = _values(workspace_id, state, now)[key]
    if value.limit is None and value.enabled:
        return _unchecked(key)
    return _check(workspace_id, key, int(amount), state, now, value)


def consume(workspace_id: int, key: str, amount: int, *, transaction_id: str,
            occurred_at: datetime | None = None, source: str = "") -> Allowance:
    """Check and record ``amount`` of the metered feature ``key`` at once.

    Under a lock on the live subscription's row (the workspace's row without one), so
    parallel consumers see each other's usage and never pass the limit; inside the
    caller's transaction the lock holds until it commits, and a rollback records
    nothing.  Idempotent by ``transaction_id``: the same one again is neither checked
    nor counted twice.  Raises ``LimitReached``.
    """
    spec = FEATURES.get(key)
    if spec is None or spec.measure != METERED:
        raise KeyError(f"{key!r} is not a metered feature.")
    metric = METRIC_OF[key]
    amount = int(amount)
    with transaction.atomic():
        state = _state(workspace_id)
        now = _now(state, None)
        if not state.configured:
            metering.record(workspace_id=workspace_id, metric=metric, quantity=amount,
                            transaction_id=transaction_id, occurred_at=occurred_at or now,
                            source=source)
            return _unchecked(key)
        if state.subscription_id is not None:
            lock = Subscription.objects.filter(pk=state.subscription_id)
        else:
            lock = _workspace_model().objects.filter(pk=workspace_id)
        # FOR NO KEY UPDATE: consumers queue behind each other, while rows pointing at
        # the locked one (usage, executions, invoices) can still be inserted meanwhile.
        list(lock.select_for_update(no_key=True).values_list("pk", flat=True))
        if UsageRecord.objects.filter(workspace_id=workspace_id,
                                      transaction_id=transaction_id).exists():
            return allowance(workspace_id, key, now)  # already counted
        value = _values(workspace_id, state, now)[key]
        current = (_check(workspace_id, key, amount, state, now, value)
                   if value.limit is not None else _unchecked(key))
        metering.record(workspace_id=workspace_id, metric=metric, quantity=amount,
                        transaction_id=transaction_id, occurred_at=occurred_at or now,
                        source=source)
    if current.limit is None:
        return current
    used = current.used + amount
    return Allowance(feature=key, limit=current.limit, used=used,
                     remaining=max(0, current.limit - used), resets_at=current.resets_at)


# --- the workspace's derived fields -----------------------------------------------------


def sync_workspace(workspace_id: int) -> None:
    """Write what the plan decides onto the workspace: ``billing_plan`` (the plan's code,
    "none" without one), ``usage_limits`` ({key: limit} of the limits in force) and a
    ``WorkspaceFeature`` row per switch (``config={"source": "plan"}``).  Called by the
    subscription services after every plan or status change; never edited by hand."""
    workspace_model = _workspace_model()
    feature_model = apps.get_model("workspaces", "WorkspaceFeature")
    with transaction.atomic():
        workspace = workspace_model.objects.select_for_update().filter(pk=workspace_id).first()
        if workspace is None:
            return
        plan = plan_of(workspace_id)
        vals = values(workspace_id)
        limits = {key: value.limit for key, value in vals.items()
                  if FEATURES[key].kind != SWITCH and value.limit is not None}
        workspace.billing_plan = plan.code if plan is not None else NO_PLAN
        workspace.usage_limits = limits
        workspace.save(update_fields=["billing_plan", "usage_limits", "updated_at"])
        for key, spec in FEATURES.items():
            if spec.kind != SWITCH:
                continue
            value = vals[key]
            feature_model.objects.update_or_create(
                workspace_id=workspace_id, key=key,
                defaults={"enabled": value.enabled,
                          "config": {"source": value.source if value.source != UNLIMITED
                                     else FROM_PLAN}})

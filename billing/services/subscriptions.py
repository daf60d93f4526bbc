"""Subscriptions: subscribe, change plan (with day-based proration), cancel, pause,
resume, redeem a coupon, and the clock-driven lifecycle (trial end, renewal, end).

Every door (API, admin, beat, the test clock) comes through here.  The rules:

* **Who.** Changes need the workspace role the model declares (owner or admin;
  ``Subscription.tenancy_write_role``), checked with ``core.tenancy``; staff with the
  model permission (``billing.change_subscription``) always pass.  ``by=None`` and
  ``principal=None`` is the system acting (beat, dunning), already authorised.
* **When.** Every decision uses ``billing.clock.now(workspace_id)``, so a workspace on a
  test clock lives on its simulated time.
* **State.** ``Subscription.status`` moves only through the model's transitions
  (django-fsm-2); a refused transition is a 409 ``invalid_state``.  Each change runs in
  one transaction on the locked subscription row, writes an ``Activity`` row (the
  timeline admins read), re-derives the workspace's entitlements
  (``billing.entitlements.sync_workspace``) and announces ``SUBSCRIPTION_CHANGED``.
* **Proration** (Stripe's model, by calendar days): changing plan mid-period leaves two
  pending lines for the next invoice: a credit for the old plan's unused days and a charge
  for the new plan over the same days, each ``price * remaining_days / period_days``
  rounded once, half up, to a minor unit.
* **Periods.** At a period's end the period is invoiced (``billing.invoicing.
  generate_for_period``) *before* it moves on, so a period is billed exactly once
  whatever runs the processing and however often.  A past-due subscription renews
  while the boundary falls inside the grace period (``BILLING_GRACE_DAYS`` after
  ``past_due_since``) and is then held on its period; dunning decides its fate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_fsm import can_proceed

from core import events, tenancy
from core.api.errors import ApiError

from .. import clock, periods
from ..events import SUBSCRIPTION_CHANGED
from ..models import InvoiceLine, Plan, Subscription, TestClock
from . import coupons

log = logging.getLogger(__name__)

Status = Subscription.Status
#: Safety bound on the periods one ``advance`` call walks through (a clock moved by
#: decades on a monthly plan is ~hundreds; a bug looping for ever stops here).
MAX_STEPS = 1000
#: Fields ``advance`` and the services write; saved by name so a concurrent writer's
#: columns (e.g. invoicing's ``coupon_periods_used``) are never overwritten with stale values.
_PERIOD_FIELDS = ["current_period_start", "current_period_end", "metadata", "updated_at"]


# --- small helpers ------------------------------------------------------------------------


def _missing(exc: ImportError, module: str) -> bool:
    """Is ``exc`` the absence of ``module`` itself (not a bug inside it)?"""
    return isinstance(exc, ModuleNotFoundError) and exc.name is not None and \
        (module == exc.name or module.startswith(exc.name + "."))


def to_minor(value: Decimal) -> int:
    """One rounding to a minor unit, half up (``billing.money.to_minor``'s rule)."""
    try:
        from billing.money import to_minor as money_to_minor
    except ImportError as exc:
        if not _missing(exc, "billing.money"):
            raise
        return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return money_to_minor(value)


def _sync(workspace_id: int) -> None:
    try:
        from billing.entitlements import sync_workspace
    except ImportError as exc:
        if not _missing(exc, "billing.entitlements"):
            raise
        return
    sync_workspace(workspace_id)


def _generate(sub: Subscription, start, end):
    try:
        from billing.invoicing import generate_for_period
    except ImportError as exc:
        if not _missing(exc, "billing.invoicing"):
            raise
        return None
    return generate_for_period(sub, start, end)


def _user(by, principal):
    if principal is not None and principal.user is not None:
        return principal.user
    return by if getattr(by, "pk", None) else None


def is_billing_staff(user, perm: str = "billing.change_subscription") -> bool:
    """Staff with the model permission (superusers have every permission)."""
    return bool(user is not None and getattr(user, "is_active", False)
                and getattr(user, "is_staff", False) and user.has_perm(perm))


def require_role(workspace, *, by=None, principal=None, action: str = "change") -> None:
    """Owner or admin of ``workspace`` (or billing staff); 403 for lesser roles, 404 for
    someone who cannot see the workspace at all.  No caller at all: the system."""
    if principal is None and by is None:
        return
    if principal is None:
        principal = tenancy.Principal(user=by)
    if principal.api_key is None and is_billing_staff(principal.user):
        return
    if tenancy.can_in_workspace(principal, workspace, Subscription, action):
        return
    if tenancy.can_in_workspace(principal, workspace, Subscription, "view"):
        raise ApiError(403, "permission_denied", "Only the workspace's owner or admins may "
                       "change its subscription.")
    raise ApiError(404, "not_found", "No such workspace.")


def _invalid_state(sub: Subscription, doing: str) -> ApiError:
    state = sub.get_status_display().lower()
    return ApiError(409, "invalid_state", f"A subscription that is {state} cannot be {doing}.",
                    errors={"status": [sub.status]})


def _offered(plan: Plan, user, field: str = "plan") -> None:
    """An active plan; private plans only when staff assign them."""
    if plan.status != Plan.Status.ACTIVE:
        raise ApiError(400, "plan_unavailable", f"The plan {plan.code} is archived: it takes "
                       "no new subscribers.", errors={field: ["This plan is archived."]})
    if not plan.is_public and not is_billing_staff(user):
        raise ApiError(400, "plan_unavailable", f"The plan {plan.code} is not offered; staff "
                       "assign private plans.", errors={field: ["This plan is not offered."]})


def _locked(sub: Subscription) -> Subscription:
    return (Subscription.objects.select_for_update(of=("self",))
            .select_related("plan", "coupon", "workspace").get(pk=sub.pk))


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _record(sub: Subscription, verb: str, summary: str, *, by=None, previous_plan=None,
            previous_status=None, data=None, emit: bool = True) -> None:
    """The side effects of every change: timeline row, entitlements, event."""
    from workspaces.services.workspaces import activity_record

    activity_record(workspace=sub.workspace, actor=by, verb=f"billing.subscription.{verb}",
                    summary=summary, target=sub,
                    data={"plan": sub.plan.code, "status": str(sub.status),
                          "at": _iso(clock.now(sub.workspace_id)), **(data or {})})
    _sync(sub.workspace_id)
    if emit:
        events.emit(SUBSCRIPTION_CHANGED, {
            "subscription": sub.pk, "plan": sub.plan.code, "status": str(sub.status),
            "previous_plan": previous_plan.code if previous_plan is not None else sub.plan.code,
            "previous_status": str(sub.status if previous_status is None else previous_status),
            "change": verb,
        }, workspace_id=sub.workspace_id)


def _done(original: Subscription, fresh: Subscription) -> Subscription:
    """Let the caller's instance see the change too, and hand back the fresh row."""
    if original is not fresh:
        original.refresh_from_db()
    return fresh


def _start_period(sub: Subscription, start, plan: Plan, anchor: int | None = None) -> None:
    """``[start, start + interval)``; ``metadata`` keeps the anchor day and the plan the
    period started on (invoicing bills that plan's fee; prorations adjust for changes)."""
    anchor = anchor or start.day
    sub.metadata = {**(sub.metadata or {}), "anchor_day": anchor, "period_plan": plan.code}
    sub.current_period_start = start
    sub.current_period_end = periods.add_interval(start, plan.interval, anchor)


def _anchor(sub: Subscription) -> int:
    return int((sub.metadata or {}).get("anchor_day") or sub.current_period_start.day)


def _require_fit(workspace_id: int, plan: Plan, now) -> None:
    """A plan the workspace already outgrows is refused (402 ``limit_reached``): what is
    counted now (seats, agents, storage, schedules…) must fit the new plan's limits,
    unless a staff override sets that feature.  Usage per period is not checked: it
    resets, and overage is billed."""
    try:
        from billing import entitlements
    except ImportError as exc:
        if not _missing(exc, "billing.entitlements"):
            raise
        return
    from ..features import FEATURES, GAUGE
    from ..models import Entitlement, PlanFeature

    overridden = set(Entitlement.objects.filter(workspace_id=workspace_id)
                     .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                     .values_list("feature__key", flat=True))
    for value in (PlanFeature.objects.filter(plan=plan, limit__isnull=False)
                  .select_related("feature").order_by("feature__key")):
        key = value.feature.key
        spec = FEATURES.get(key)
        if spec is None or spec.measure != GAUGE or key in overridden:
            continue
        used = entitlements.allowance(workspace_id, key).used
        if used > value.limit:
            unit = f" {spec.unit}" if spec.unit else ""
            raise ApiError(402, "limit_reached", f"{plan.name} allows {value.limit}{unit} of "
                           f"{spec.name} ({key}); this workspace uses {used}: remove "
                           f"{used - value.limit} first, or choose a larger plan.",
                           errors={"feature": key, "limit": value.limit, "used": used,
                                   "requested": 0, "resets_at": None})


# --- subscribe ----------------------------------------------------------------------------


def live_subscription(workspace_id: int) -> Subscription | None:
    return (Subscription.objects.filter(workspace_id=workspace_id, status__in=Subscription.LIVE)
            .select_related("plan").first())


@transaction.atomic
def subscribe(*, workspace, plan: Plan, by=None, principal=None, coupon_code: str = "",
              trial: bool = True) -> Subscription:
    """Start ``workspace`` on ``plan``: a trial of ``plan.trial_days`` first (once per
    workspace: a workspace that had a trial before starts paying at once), then monthly
    or yearly periods anchored on the day it starts.  409 ``subscription_exists`` when the
    workspace already has a live subscription (change its plan instead)."""
    require_role(workspace, by=by, principal=principal, action="add")
    user = _user(by, principal)
    _offered(plan, user)
    # The workspace row serialises concurrent subscribes of one workspace.
    type(workspace).objects.select_for_update().filter(pk=workspace.pk).first()
    if live_subscription(workspace.pk) is not None:
        raise ApiError(409, "subscription_exists", "This workspace already has a live "
                       "subscription: change its plan instead.",
                       errors={"workspace": ["A live subscription exists."]})
    now = clock.now(workspace.pk)
    had_trial = Subscription.objects.filter(workspace=workspace, trial_end__isnull=False).exists()
    sub = Subscription(workspace=workspace, plan=plan, started_at=now, created_by=user,
                       metadata={})
    if trial and plan.trial_days and not had_trial:
        sub.status = Status.TRIALING
        sub.trial_end = now + timedelta(days=plan.trial_days)
        sub.current_period_start, sub.current_period_end = now, sub.trial_end
        sub.metadata = {"anchor_day": sub.trial_end.day, "period_plan": plan.code}
    else:
        sub.status = Status.ACTIVE
        _start_period(sub, now, plan)
    if coupon_code:
        sub.coupon = coupons.redeem(coupon_code, plan=plan, now=now)
    try:
        with transaction.atomic():
            sub.save()
    except IntegrityError as exc:  # a concurrent subscribe won the one-live constraint
        raise ApiError(409, "subscription_exists", "This workspace already has a live "
                       "subscription: change its plan instead.") from exc
    summary = f"Subscribed to {plan.name}" + (
        f", trial until {sub.trial_end:%Y-%m-%d}" if sub.trial_end else "") + (
        f", coupon {sub.coupon.code}" if sub.coupon else "")
    _record(sub, "created", summary, by=user, previous_status="",
            data={"trial_end": _iso(sub.trial_end), "coupon": coupon_code or None})
    return sub


# --- change plan and proration ------------------------------------------------------------


@dataclass(frozen=True)
class Proration:
    remaining_days: int
    period_days: int
    credit: int  # minor units, negative
    charge: int  # minor units, positive

    @property
    def net(self) -> int:
        return self.credit + self.charge


def proration(old: Plan, new: Plan, period_start, period_end, at) -> Proration:
    """The two amounts of a plan change at ``at`` (pure: nothing saved)."""
    remaining, total = periods.remaining_days(period_start, period_end, at)
    if total == 0 or remaining == 0:
        return Proration(remaining, total, 0, 0)
    credit = -to_minor(Decimal(old.price) * remaining / total)
    charge = to_minor(Decimal(new.price) * remaining / total)
    return Proration(remaining, total, credit, charge)


def _proration_line(sub, plan: Plan, amount: int, sign: int, p: Proration, at, direction):
    unit = (Decimal(plan.price) / p.period_days).quantize(Decimal("0.000001"),
                                                         rounding=ROUND_HALF_UP)
    what = "Unused time on" if sign < 0 else "Remaining time on"
    return InvoiceLine(
        workspace_id=sub.workspace_id, invoice=None, subscription=sub,
        kind=InvoiceLine.Kind.PRORATION,
        description=f"{what} {plan.name} ({p.remaining_days} of {p.period_days} days)",
        quantity=Decimal(p.remaining_days), unit_amount=unit * sign, amount=amount,
        currency=plan.currency, period_start=at, period_end=sub.current_period_end,
        metadata={"plan": plan.code, "days": p.remaining_days, "period_days": p.period_days,
                  "change": direction, "role": "credit" if sign < 0 else "charge"})


@transaction.atomic
def change_plan(sub: Subscription, plan: Plan, *, by=None, principal=None,
                prorate: bool = True) -> Subscription:
    """Move ``sub`` to ``plan`` now.  With ``prorate`` (and outside a trial) the unused
    days of the old plan are credited and the new plan charged for the same days, as two
    pending lines the next invoice takes.  Both plans bill in the same currency and
    interval (switching monthly<->yearly: cancel at period end and subscribe again)."""
    original = sub
    require_role(sub.workspace, by=by, principal=principal)
    user = _user(by, principal)
    now = clock.now(sub.workspace_id)
    advance(sub, now)  # an overdue period is billed on the plan it ran on, first
    sub = _locked(sub)
    if sub.status not in (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE):
        raise _invalid_state(sub, "changed to another plan (resume it first)"
                             if sub.status == Status.PAUSED else "changed to another plan")
    old = sub.plan
    if plan.pk == old.pk:
        raise ApiError(400, "same_plan", f"The subscription is already on {plan.name}.",
                       errors={"plan": ["This is the current plan."]})
    _offered(plan, user)
    if plan.currency != old.currency:
        raise ApiError(400, "currency_mismatch", f"{plan.name} is billed in {plan.currency}, "
                       f"the subscription in {old.currency}.",
                       errors={"plan": ["Another currency."]})
    if plan.interval != old.interval:
        raise ApiError(400, "interval_mismatch", f"{plan.name} is billed per "
                       f"{plan.interval}, the subscription per {old.interval}: cancel at "
                       "period end and subscribe to it then.",
                       errors={"plan": ["Another billing interval."]})
    _require_fit(sub.workspace_id, plan, now)
    direction = "upgrade" if plan.price > old.price else "downgrade"
    lines = []
    if prorate and sub.status != Status.TRIALING:
        p = proration(old, plan, sub.current_period_start, sub.current_period_end, now)
        if p.remaining_days:
            lines = [_proration_line(sub, old, p.credit, -1, p, now, direction),
                     _proration_line(sub, plan, p.charge, 1, p, now, direction)]
            for line in lines:
                line.save()
    sub.plan = plan
    sub.save(update_fields=["plan", "updated_at"])
    net = sum(line.amount for line in lines)
    summary = f"Plan changed from {old.name} to {plan.name} ({direction})" + (
        f", proration {net:+d} {plan.currency} minor units" if lines else "")
    _record(sub, "plan_changed", summary, by=user, previous_plan=old,
            data={"from": old.code, "to": plan.code, "direction": direction,
                  "prorated": bool(lines), "lines": [line.pk for line in lines],
                  "net": net})
    return _done(original, sub)


# --- cancel, pause, resume ----------------------------------------------------------------


@transaction.atomic
def cancel(sub: Subscription, *, at_period_end: bool = True, by=None,
           principal=None) -> Subscription:
    """Cancel now (status cancelled at once) or at the end of the current period (the
    subscription runs, and is billed, to its end, then ends).  Asking again for the end of
    the period changes nothing; cancelling now after that ends it at once."""
    original = sub
    require_role(sub.workspace, by=by, principal=principal)
    user = _user(by, principal)
    sub = _locked(sub)
    if not can_proceed(sub.cancel):
        raise _invalid_state(sub, "cancelled")
    now = clock.now(sub.workspace_id)
    previous = sub.status
    if at_period_end:
        if sub.cancel_at_period_end:
            return _done(original, sub)
        sub.cancel_at_period_end, sub.cancelled_at = True, now
        sub.save(update_fields=["cancel_at_period_end", "cancelled_at", "updated_at"])
        ends = sub.trial_end if sub.status == Status.TRIALING else sub.current_period_end
        _record(sub, "cancel_scheduled", f"Cancellation requested: ends on {ends:%Y-%m-%d}",
                by=user, data={"ends_at": _iso(ends)})
        return _done(original, sub)
    sub.cancel()
    sub.cancel_at_period_end = False
    sub.cancelled_at = sub.ended_at = now
    sub.save(update_fields=["status", "cancel_at_period_end", "cancelled_at", "ended_at",
                            "updated_at"])
    _record(sub, "cancelled", f"Cancelled at once ({sub.plan.name})", by=user,
            previous_status=previous)
    return _done(original, sub)


@transaction.atomic
def pause(sub: Subscription, *, by=None, principal=None) -> Subscription:
    """Pause an active (or past-due) subscription: its period does not renew and nothing
    is invoiced until it is resumed."""
    original = sub
    require_role(sub.workspace, by=by, principal=principal)
    user = _user(by, principal)
    sub = _locked(sub)
    if not can_proceed(sub.pause):
        raise _invalid_state(sub, "paused")
    previous = sub.status
    sub.pause()
    sub.paused_at = clock.now(sub.workspace_id)
    sub.save(update_fields=["status", "paused_at", "updated_at"])
    _record(sub, "paused", f"Paused ({sub.plan.name})", by=user, previous_status=previous)
    return _done(original, sub)


@transaction.atomic
def resume(sub: Subscription, *, by=None, principal=None) -> Subscription:
    """Resume a paused subscription.  If its period ran out while paused, a new period
    starts now (anchored on today); otherwise the current period carries on."""
    original = sub
    require_role(sub.workspace, by=by, principal=principal)
    user = _user(by, principal)
    sub = _locked(sub)
    if not can_proceed(sub.resume):
        raise _invalid_state(sub, "resumed")
    now = clock.now(sub.workspace_id)
    previous = sub.status
    sub.resume()
    sub.paused_at = None
    fields = ["status", "paused_at", "updated_at"]
    restarted = sub.current_period_end <= now
    if restarted:
        _start_period(sub, now, sub.plan)
        fields += ["current_period_start", "current_period_end", "metadata"]
    sub.save(update_fields=fields)
    _record(sub, "resumed", f"Resumed ({sub.plan.name})" + (
        f", new period until {sub.current_period_end:%Y-%m-%d}" if restarted else ""),
        by=user, previous_status=previous, data={"period_restarted": restarted})
    return _done(original, sub)


# --- coupons ------------------------------------------------------------------------------


@transaction.atomic
def redeem_coupon(sub: Subscription, code: str, *, by=None, principal=None,
                  field: str = "code") -> Subscription:
    """Attach the coupon ``code`` to a live subscription; it discounts the next invoices
    for its duration (counted by invoicing in ``coupon_periods_used``).  409 while a
    previous coupon still applies."""
    original = sub
    require_role(sub.workspace, by=by, principal=principal)
    user = _user(by, principal)
    sub = _locked(sub)
    if sub.status not in Subscription.LIVE:
        raise _invalid_state(sub, "given a coupon")
    if coupons.applies(sub):
        raise ApiError(409, "coupon_already_applied", f"The coupon {sub.coupon.code} still "
                       "applies to this subscription.", errors={field: ["A coupon applies."]})
    now = clock.now(sub.workspace_id)
    coupon = coupons.redeem(code, plan=sub.plan, now=now, field=field)
    sub.coupon, sub.coupon_periods_used = coupon, 0
    sub.save(update_fields=["coupon", "coupon_periods_used", "updated_at"])
    _record(sub, "coupon_redeemed", f"Coupon {coupon.code} redeemed", by=user,
            data={"coupon": coupon.code, "duration": coupon.duration,
                  "periods": coupon.duration_periods})
    return _done(original, sub)


# --- the clock: trial ends, renewals, ends --------------------------------------------------


def _within_grace(sub: Subscription, at) -> bool:
    if sub.past_due_since is None:
        return True
    return at < sub.past_due_since + timedelta(days=settings.BILLING_GRACE_DAYS)


def _end(sub: Subscription, at) -> None:
    previous = sub.status
    sub.end()
    sub.ended_at = at
    sub.save(update_fields=["status", "ended_at", "updated_at"])
    _record(sub, "ended", f"Ended on {at:%Y-%m-%d} (cancelled at period end)",
            previous_status=previous)


@transaction.atomic
def _step(pk: int, now) -> str | None:
    """One due thing for one subscription, under its row lock; None when nothing is due
    (so a second run, or a concurrent one, does nothing)."""
    sub = _locked(Subscription(pk=pk))
    if sub.status not in Subscription.LIVE:
        return None
    if sub.status == Status.TRIALING:
        trial_end = sub.trial_end or sub.current_period_end
        if trial_end > now:
            return None
        if sub.cancel_at_period_end:
            _end(sub, trial_end)
            return "ended"
        sub.activate()
        _start_period(sub, trial_end, sub.plan, _anchor(sub))
        sub.save(update_fields=["status", *_PERIOD_FIELDS])
        _record(sub, "activated", f"Trial ended: active on {sub.plan.name} until "
                f"{sub.current_period_end:%Y-%m-%d}", previous_status=Status.TRIALING,
                data={"period_end": _iso(sub.current_period_end)})
        return "activated"
    start, end = sub.current_period_start, sub.current_period_end
    if end > now:
        return None
    if sub.status == Status.PAUSED:
        if sub.cancel_at_period_end:
            _end(sub, end)
            return "ended"
        return None  # paused: no renewal, nothing billed
    if sub.status == Status.PAST_DUE and not _within_grace(sub, end):
        return None  # held on its period: dunning (billing.services.dunning) decides
    _generate(sub, start, end)
    sub.refresh_from_db()  # invoicing (and payment collection) may have written the row
    if sub.status not in Subscription.LIVE:
        return "invoiced"
    if sub.cancel_at_period_end:
        _end(sub, end)
        return "ended"
    _start_period(sub, end, sub.plan, _anchor(sub))
    sub.save(update_fields=_PERIOD_FIELDS)
    _record(sub, "renewed", f"Period {start:%Y-%m-%d} to {end:%Y-%m-%d} closed; renewed "
            f"until {sub.current_period_end:%Y-%m-%d}", emit=False,
            data={"invoiced": {"start": _iso(start), "end": _iso(end)},
                  "period_end": _iso(sub.current_period_end)})
    return "renewed"


def advance(sub: Subscription, now=None) -> list[str]:
    """Bring ``sub`` up to ``now`` (its workspace's billing time by default): trial end →
    active; each ended period → invoiced, then renewed or ended.  Returns what happened
    ("activated", "renewed", "ended", …) in order; ``[]`` when nothing was due.
    Idempotent: each step re-checks under the row lock."""
    if now is None:
        now = clock.now(sub.workspace_id)
    done = []
    for _ in range(MAX_STEPS):
        step = _step(sub.pk, now)
        if step is None:
            break
        done.append(step)
    if done:
        sub.refresh_from_db()
    return done


def due(now):
    """Live subscriptions with something due at ``now``."""
    return Subscription.objects.filter(
        Q(current_period_end__lte=now) | Q(status=Status.TRIALING, trial_end__lte=now),
        status__in=Subscription.LIVE)


def process_due(now=None, workspace_id: int | None = None, *, skip_frozen: bool = False,
                strict: bool = False) -> int:
    """Advance every live subscription with something due; returns how many moved.

    ``now=None`` uses each workspace's billing time (its test clock, else the real
    time); ``skip_frozen`` leaves workspaces on a test clock alone (the real-time beat
    run: their clock moves only when staff advance it).  A subscription that fails is
    logged and skipped so one bad row never blocks the rest (``strict`` re-raises).
    Safe to run twice or concurrently."""
    batches: list[tuple] = []
    if workspace_id is not None:
        at = now or clock.now(workspace_id)
        batches.append((at, due(at).filter(workspace_id=workspace_id)))
    elif now is not None:
        batches.append((now, due(now)))
    else:
        frozen = dict(TestClock.objects.values_list("workspace_id", "frozen_time"))
        real = timezone.now()
        batches.append((real, due(real).exclude(workspace_id__in=list(frozen))))
        if not skip_frozen:
            batches += [(at, due(at).filter(workspace_id=ws)) for ws, at in frozen.items()]
    moved = 0
    for at, queryset in batches:
        for sub in queryset.order_by("current_period_end", "pk").only("pk", "workspace_id"):
            try:
                moved += bool(advance(sub, at))
            except Exception:
                if strict:
                    raise
                log.exception("Billing: subscription %s could not be advanced to %s",
                              sub.pk, at)
    return moved

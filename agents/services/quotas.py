"""Quotas enforced before a call, not just shown after it.

A call reserves its worst case (estimated input + the most output it may produce,
priced) against every enabled quota that covers it — the agent's own and the
workspace's — under row locks, so parallel calls see each other's reservations and
cannot overshoot.  After the call the reservation is settled with the real usage (or
released on failure).  Periods are UTC days or months; a quota whose period_start is
older than the current period starts afresh when next touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from core import events
from core.api.errors import ApiError

from ..events import QUOTA_THRESHOLD
from ..models import AgentQuota

log = logging.getLogger(__name__)

THRESHOLDS = (80, 100)
ADVERB = {"day": "daily", "month": "monthly"}


class QuotaExhausted(ApiError):
    """429: the call would pass a quota's limit; says which quota and when it resets."""

    def __init__(self, quota: AgentQuota, now: datetime, *, limit_name: str):
        reset = resets_at(quota, now)
        who = f'the agent "{quota.agent}"' if quota.agent_id else "the workspace"
        if limit_name == "tokens":
            limit, used = quota.max_tokens, quota.tokens_used + quota.tokens_reserved
            amount = f"{used} of {limit} tokens used or reserved"
        else:
            limit, used = quota.max_cost, quota.cost_used + quota.cost_reserved
            amount = (f"{used.normalize():f} of {limit.normalize():f} {quota.currency} "
                      "used or reserved")
        message = (f"The {ADVERB[quota.period]} quota of {who} is exhausted "
                   f"({amount}); it resets at {reset.isoformat()}.")
        retry = max(1, int((reset - now).total_seconds()))
        super().__init__(429, "quota_exhausted", message,
                         errors={"quota": quota.pk, "agent": quota.agent_id,
                                 "period": quota.period, "limit_kind": limit_name,
                                 "limit": str(limit), "used": str(used),
                                 "resets_at": reset.isoformat()},
                         headers={"Retry-After": str(retry)})
        self.quota_id = quota.pk


@dataclass
class Reservation:
    quota_ids: list[int] = field(default_factory=list)
    tokens: int = 0
    cost: Decimal = Decimal(0)
    settled: bool = False


def period_start(period: str, now: datetime) -> datetime:
    now = now.astimezone(UTC)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.replace(day=1) if period == AgentQuota.Period.MONTH else start


def resets_at(quota: AgentQuota, now: datetime) -> datetime:
    start = period_start(quota.period, now)
    if quota.period == AgentQuota.Period.MONTH:
        return (start.replace(year=start.year + 1, month=1) if start.month == 12
                else start.replace(month=start.month + 1))
    return start + timedelta(days=1)


def _roll(quota: AgentQuota, now: datetime) -> None:
    """A new period: usage and alerts start again.  Reservations stay: they belong to
    calls still in flight, which settle against whatever period is current then."""
    start = period_start(quota.period, now)
    if quota.period_start is None or quota.period_start < start:
        quota.period_start = start
        quota.tokens_used = 0
        quota.cost_used = Decimal(0)
        quota.alerted_percent = 0


def _locked(ids_filter) -> list[AgentQuota]:
    # Ordered by id: two calls lock the agent's and the workspace's quota in the same
    # order, so they wait for each other instead of deadlocking.
    return list(AgentQuota.objects.select_for_update(of=("self",)).filter(ids_filter)
                .select_related("agent").order_by("id"))


def _any_enabled(workspace_id: int, agent_id: int | None) -> bool:
    # Plain SQL: it runs before every call, and the ORM's compiling costs more than it.
    with connections[router.db_for_read(AgentQuota)].cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {AgentQuota._meta.db_table} WHERE workspace_id = %s "
                       "AND enabled AND (agent_id IS NULL OR agent_id = %s) LIMIT 1",
                       [workspace_id, agent_id])
        return cursor.fetchone() is not None


def reserve(*, workspace_id: int, agent_id: int | None, tokens: int,
            cost: Decimal) -> Reservation:
    """Hold ``tokens`` and ``cost`` against the quotas covering this call, or raise
    QuotaExhausted (nothing held)."""
    covers = Q(workspace_id=workspace_id, enabled=True) & (
        Q(agent__isnull=True) | Q(agent_id=agent_id) if agent_id else Q(agent__isnull=True))
    # Most workspaces have no quota: one plain read spares them the locking transaction.
    # A quota enabled after this read covers the next call, as it would had it been
    # enabled a moment after this one was reserved.
    if not _any_enabled(workspace_id, agent_id):
        return Reservation(tokens=tokens, cost=cost)
    now = timezone.now()
    with transaction.atomic():
        quotas = _locked(covers)
        if not quotas:
            return Reservation(tokens=tokens, cost=cost)
        for quota in quotas:
            _roll(quota, now)
            if (quota.max_tokens is not None
                    and quota.tokens_used + quota.tokens_reserved + tokens > quota.max_tokens):
                raise QuotaExhausted(quota, now, limit_name="tokens")
            if (quota.max_cost is not None
                    and quota.cost_used + quota.cost_reserved + cost > quota.max_cost):
                raise QuotaExhausted(quota, now, limit_name="cost")
        for quota in quotas:
            quota.tokens_reserved += tokens
            quota.cost_reserved += cost
            quota.save(update_fields=["period_start", "tokens_used", "cost_used",
                                      "alerted_percent", "tokens_reserved", "cost_reserved"])
    return Reservation(quota_ids=[q.pk for q in quotas], tokens=tokens, cost=cost)


def _unhold(quota: AgentQuota, reservation: Reservation) -> None:
    quota.tokens_reserved = max(0, quota.tokens_reserved - reservation.tokens)
    quota.cost_reserved = max(Decimal(0), quota.cost_reserved - reservation.cost)


def settle(reservation: Reservation, *, tokens: int, cost: Decimal) -> None:
    """Swap the reservation for the real usage; alert at 80% and 100% once a period."""
    if reservation.settled or not reservation.quota_ids:
        reservation.settled = True
        return
    now = timezone.now()
    with transaction.atomic():
        for quota in _locked(Q(pk__in=reservation.quota_ids)):
            _roll(quota, now)
            _unhold(quota, reservation)
            quota.tokens_used += tokens
            quota.cost_used += cost
            reached = [t for t in THRESHOLDS if _percent(quota) >= t]
            if reached and reached[-1] > quota.alerted_percent:
                quota.alerted_percent = reached[-1]
                _alert(quota, reached[-1], now)
            quota.save(update_fields=["period_start", "tokens_used", "cost_used",
                                      "alerted_percent", "tokens_reserved", "cost_reserved"])
    reservation.settled = True


def release(reservation: Reservation) -> None:
    """Give the reservation back (the call failed before using anything billable)."""
    if reservation.settled or not reservation.quota_ids:
        reservation.settled = True
        return
    with transaction.atomic():
        for quota in _locked(Q(pk__in=reservation.quota_ids)):
            _unhold(quota, reservation)
            quota.save(update_fields=["tokens_reserved", "cost_reserved"])
    reservation.settled = True


def _percent(quota: AgentQuota) -> float:
    shares = []
    if quota.max_tokens:
        shares.append(quota.tokens_used * 100 / quota.max_tokens)
    if quota.max_cost:
        shares.append(float(quota.cost_used * 100 / quota.max_cost))
    elif quota.max_cost is not None:  # a zero cost limit is full at once
        shares.append(100.0)
    return max(shares, default=0.0)


def recipients(workspace_id: int) -> list[str]:
    """Owners' and admins' addresses: the people who can raise or lift a quota."""
    from workspaces.models import Membership

    return sorted(set(
        Membership.objects.filter(workspace_id=workspace_id, role__in=("owner", "admin"),
                                  user__is_active=True)
        .exclude(user__email="").values_list("user__email", flat=True)))


def _alert(quota: AgentQuota, percent: int, now: datetime) -> None:
    reset = resets_at(quota, now)
    who = f'agent "{quota.agent}"' if quota.agent_id else "workspace"
    subject = f"Quota {percent}% used: {who} ({quota.get_period_display().lower()})"
    lines = [f"The {ADVERB[quota.period]} quota of the {who} "
             f"has reached {percent}% of its limit."]
    if quota.max_tokens is not None:
        lines.append(f"Tokens: {quota.tokens_used} of {quota.max_tokens}.")
    if quota.max_cost is not None:
        lines.append(f"Cost: {quota.cost_used.normalize():f} of "
                     f"{quota.max_cost.normalize():f} {quota.currency}.")
    if percent >= 100:
        lines.append("Calls covered by this quota are refused until it resets.")
    lines.append(f"It resets at {reset.isoformat()}.")
    to = recipients(quota.workspace_id)
    payload = {"quota": quota.pk, "agent": quota.agent_id, "percent": percent,
               "period_start": quota.period_start, "resets_at": reset}

    def deliver():
        if to:
            try:
                send_mail(subject, "\n".join(lines), settings.DEFAULT_FROM_EMAIL, to)
            except Exception:  # a mail outage must not fail the call that was made
                log.exception("Quota alert for quota %s could not be sent", quota.pk)

    transaction.on_commit(deliver)
    events.emit(QUOTA_THRESHOLD, payload, workspace_id=quota.workspace_id)

"""Cost intelligence over LLMUsageLog: sums by day, agent, model, workflow or workspace,
the month-end forecast with its error, and the top cost drivers.

* Every figure is a sum of usage log rows (failed calls included: they are billed when
  the provider reports tokens), computed by the database in one aggregate query per
  table, never by loading rows.  So the sums here always equal the sum of the logs.
* Callers see what ``core.tenancy.visible`` lets them see; budget alerts (no caller)
  pass their own queryset to ``forecast_logs``.
* Costs in different currencies are never added up: rows are grouped by currency too,
  and the forecast and the drivers are for one currency (asked for, or the one with the
  most cost in the selection).
* Days are local days (``TIME_ZONE``); date filters become datetime bounds so the
  (workspace, created_at) index serves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Max, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from core import forecasting, tenancy

from .models import LLMUsageLog

GROUPS = ("day", "agent", "model", "workflow", "workspace")
DRIVER_GROUPS = ("agent", "model", "workflow")
#: Without dates, the last 30 days (today included).
DEFAULT_DAYS = 30
#: How far back the month-end forecast reads daily history (eight weeks).
HISTORY_DAYS = 56
ZERO = Decimal(0)
SHARE_PLACES = Decimal("0.01")

# group -> (the field grouped on, the label aggregated alongside, the label of a blank key)
_KEYS = {
    "agent": ("agent", Max("agent__name"), "(no agent)"),
    "model": ("model", Max("model_name"), "(no model)"),
    "workflow": ("workflow", Max("workflow__name"), "(no workflow)"),
    "workspace": ("workspace", Max("workspace__name"), ""),
}
_SUMS = {"calls": Count("id"), "tokens_in": Sum("tokens_in"), "tokens_out": Sum("tokens_out"),
         "cached_tokens": Sum("cached_tokens"), "cost": Sum("cost")}


@dataclass(frozen=True)
class CostFilter:
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    workspace_id: int | None = None
    agent_id: int | None = None
    model_id: int | None = None
    workflow_id: int | None = None

    def window(self, today: date) -> tuple[date, date]:
        end = self.date_to or today
        return self.date_from or end - timedelta(days=DEFAULT_DAYS - 1), end


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def scoped(logs: QuerySet, f: CostFilter) -> QuerySet:
    """``logs`` narrowed to the filter's workspace, agent, model and workflow."""
    for name in ("workspace_id", "agent_id", "model_id", "workflow_id"):
        if getattr(f, name) is not None:
            logs = logs.filter(**{name: getattr(f, name)})
    return logs


def usage_logs(principal: tenancy.Principal, f: CostFilter, *,
               today: date | None = None) -> QuerySet:
    """The usage logs ``principal`` may see, within the filter and its date window."""
    start, end = f.window(today or timezone.localdate())
    logs = tenancy.visible(LLMUsageLog.objects.all(), principal)
    return scoped(logs, f).filter(created_at__gte=day_start(start),
                                  created_at__lt=day_start(end + timedelta(days=1)))


def _number(row: dict) -> dict:
    for name in ("tokens_in", "tokens_out", "cached_tokens"):
        row[name] = row[name] or 0
    row["cost"] = row["cost"] or ZERO
    return row


def group(logs: QuerySet, group_by: str, *, limit: int | None = None) -> list[dict]:
    """``logs`` summed per ``group_by`` key and currency, most costly first (by day: in
    date order).  Each row: key, label, currency, calls, tokens_in, tokens_out,
    cached_tokens, cost."""
    if group_by == "day":
        rows = (logs.annotate(key=TruncDate("created_at")).values("key", "currency")
                .annotate(**_SUMS).order_by("key", "currency"))
        return [_number({**row, "label": row["key"].isoformat()}) for row in rows]
    key, label, blank = _KEYS[group_by]
    rows = (logs.values(key, "currency").annotate(label=label, **_SUMS)
            .order_by("-cost", key, "currency"))
    if limit is not None:
        rows = rows[:limit]
    return [_number({**row, "key": row.pop(key), "label": row["label"] or blank})
            for row in rows]


def totals(logs: QuerySet) -> list[dict]:
    """Per currency: calls, tokens and cost of ``logs``."""
    rows = logs.values("currency").annotate(**_SUMS).order_by("-cost", "currency")
    return [_number(dict(row)) for row in rows]


def cost_by(principal: tenancy.Principal, group_by: str, f: CostFilter, *,
            today: date | None = None) -> dict:
    logs = usage_logs(principal, f, today=today)
    start, end = f.window(today or timezone.localdate())
    return {"group_by": group_by, "from": start, "to": end, "rows": group(logs, group_by),
            "totals": totals(logs)}


def main_currency(logs: QuerySet, default: str = "USD") -> str:
    """The currency with the most cost among ``logs`` (``default`` when none)."""
    row = (logs.values("currency").annotate(cost=Sum("cost")).order_by("-cost", "currency")
           .first())
    return row["currency"] if row else default


# --- forecast ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CostForecast:
    currency: str
    history_from: date | None  # the first day with usage in the window (None: no usage)
    history: tuple[Decimal, ...]  # per complete day, history_from .. yesterday
    month_end: forecasting.MonthEnd
    budget: Decimal | None = field(default=None)


def forecast_logs(logs: QuerySet, *, today: date | None = None,
                  currency: str | None = None) -> CostForecast:
    """The month-end projection of ``logs``' cost (one currency) from up to eight weeks
    of daily cost.  The series starts on the first day with usage, so a workspace that
    began last week is not forecast from weeks of zeros before it existed."""
    today = today or timezone.localdate()
    first = min(today - timedelta(days=HISTORY_DAYS), today.replace(day=1))
    window = logs.filter(created_at__gte=day_start(first),
                         created_at__lt=day_start(today + timedelta(days=1)))
    currency = currency or main_currency(window)
    rows = (window.filter(currency=currency).annotate(day=TruncDate("created_at"))
            .values("day").annotate(cost=Sum("cost")).order_by("day"))
    daily = {row["day"]: row["cost"] or ZERO for row in rows}
    so_far = daily.pop(today, ZERO)
    start = min(daily) if daily else None
    history = [daily.get(day, ZERO) for day in
               forecasting.days(start, today - timedelta(days=1))] if start else []
    return CostForecast(currency, start, tuple(history),
                        forecasting.month_end(history, today, today_so_far=so_far))


def forecast(principal: tenancy.Principal, f: CostFilter, *, today: date | None = None,
             currency: str | None = None) -> CostForecast:
    logs = scoped(tenancy.visible(LLMUsageLog.objects.all(), principal), f)
    return forecast_logs(logs, today=today, currency=currency)


# --- drivers -----------------------------------------------------------------------------


def share(part: Decimal, whole: Decimal) -> Decimal:
    """``part`` as a percentage of ``whole``, 2 dp (0 when there is nothing)."""
    return (part * 100 / whole).quantize(SHARE_PLACES) if whole else ZERO


def drivers(principal: tenancy.Principal, f: CostFilter, *, limit: int = 5,
            currency: str | None = None, today: date | None = None) -> dict:
    """The top ``limit`` agents, models and workflows by cost, each with its share of the
    selection's total (one currency)."""
    logs = usage_logs(principal, f, today=today)
    currency = currency or main_currency(logs)
    logs = logs.filter(currency=currency)
    total = logs.aggregate(cost=Sum("cost"))["cost"] or ZERO
    start, end = f.window(today or timezone.localdate())
    result = {"from": start, "to": end, "currency": currency, "total": total}
    for name in DRIVER_GROUPS:
        rows = group(logs, name, limit=limit)
        result[name + "s"] = [{**row, "share": share(row["cost"], total)} for row in rows]
    return result

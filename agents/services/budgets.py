"""Budget alerts: when a month's projected cost will pass a quota's cost limit, the
workspace's owners and admins hear about it before the quota starts refusing calls.

* Monthly quotas with a cost limit only: the projection is to the month's end, so a daily
  quota has nothing to compare it with (its 80%/100% alerts come from quotas.settle).
* The projection is ``agents.cost.forecast_logs`` over the quota's scope: the whole
  workspace, or the quota's agent, in the quota's currency.
* Once per quota and month: the alert is written to the workspace activity feed (verb
  ``BUDGET_VERB``, data.period "YYYY-MM") under a row lock on the quota, and that entry is
  what later runs look for, so two overlapping runs or a re-run send nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from core.forecasting import month_label
from workspaces.models import Activity
from workspaces.services.workspaces import activity_record

from .. import cost
from ..models import AgentQuota, LLMUsageLog
from .quotas import recipients

log = logging.getLogger(__name__)

BUDGET_VERB = "agents.budget.forecast_exceeded"


@dataclass(frozen=True)
class BudgetAlert:
    quota_id: int
    period: str
    projected: Decimal
    limit: Decimal
    recipients: tuple[str, ...]


def candidates():
    return AgentQuota.objects.filter(enabled=True, period=AgentQuota.Period.MONTH,
                                     max_cost__isnull=False)


def check_all(*, today: date | None = None) -> list[BudgetAlert]:
    """Check every monthly cost quota; returns the alerts sent by this run."""
    today = today or timezone.localdate()
    alerts = []
    for quota_id in candidates().order_by("pk").values_list("pk", flat=True):
        alert = check_quota(quota_id, today=today)
        if alert is not None:
            alerts.append(alert)
    return alerts


def already_alerted(quota: AgentQuota, period: str) -> bool:
    return Activity.objects.filter(
        workspace_id=quota.workspace_id, verb=BUDGET_VERB,
        target_type=AgentQuota._meta.label_lower, target_id=str(quota.pk),
        data__period=period).exists()


def check_quota(quota_id: int, *, today: date | None = None) -> BudgetAlert | None:
    today = today or timezone.localdate()
    period = month_label(today)
    with transaction.atomic():
        # Lock the quota row alone (no joins: ordering by agent name would outer-join).
        quota = (candidates().select_for_update().filter(pk=quota_id).order_by().first())
        if quota is None or already_alerted(quota, period):
            return None
        logs = LLMUsageLog.objects.filter(workspace_id=quota.workspace_id)
        if quota.agent_id:
            logs = logs.filter(agent_id=quota.agent_id)
        forecast = cost.forecast_logs(logs, today=today, currency=quota.currency)
        projected = forecast.month_end.projected
        if projected <= quota.max_cost:
            return None
        who = f'agent "{quota.agent}"' if quota.agent_id else "workspace"
        summary = (f"Budget alert: the {who} is projected to cost {_money(projected)} "
                   f"{quota.currency} in {period}, over its limit of "
                   f"{_money(quota.max_cost)}.")
        activity_record(workspace=quota.workspace, actor=None, verb=BUDGET_VERB,
                        summary=summary, target=quota,
                        data={"period": period, "projected": str(projected),
                              "limit": str(quota.max_cost), "currency": quota.currency})
        to = tuple(recipients(quota.workspace_id))
        body = _body(quota, who, forecast, period)
        transaction.on_commit(lambda: _deliver(quota.pk, summary, body, to))
    return BudgetAlert(quota.pk, period, projected, quota.max_cost, to)


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _body(quota: AgentQuota, who: str, forecast: cost.CostForecast, period: str) -> str:
    month = forecast.month_end
    lines = [
        f"The {who} of workspace {quota.workspace} is projected to cost "
        f"{_money(month.projected)} {quota.currency} by the end of {period}; "
        f"its monthly limit is {_money(quota.max_cost)} {quota.currency}.",
        f"Spent so far this month: {_money(month.to_date)} {quota.currency}; "
        f"expected for the rest of the month: {_money(month.remaining)}.",
    ]
    if month.error is not None:
        mape = f", MAPE {month.error.mape.quantize(Decimal('0.1'))}%" \
            if month.error.mape is not None else ""
        lines.append(f"Forecast error on the last {len(month.error.actual)} days: MAE "
                     f"{_money(month.error.mae)} {quota.currency} per day{mape}.")
    lines.append("Calls are refused once the quota is used up; raise the limit or reduce "
                 "usage to avoid it. This alert is sent once per month.")
    return "\n".join(lines)


def _deliver(quota_id: int, subject: str, body: str, to: tuple[str, ...]) -> None:
    if not to:
        return
    try:
        send_mail(subject[:200], body, settings.DEFAULT_FROM_EMAIL, list(to))
    except Exception:  # the alert stays recorded; a mail outage must not fail the run
        log.exception("Budget alert for quota %s could not be sent", quota_id)

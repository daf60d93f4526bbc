"""Daily usage of each agent (``AgentUsageMetric``) and the summary on the agent
(``Agent.performance_metrics``), rolled up nightly from conversations, messages, provider
calls, error logs and feedback.

A day is the server's time zone's (as workflow metrics).  Rolling a day up again
rewrites its rows (``update_or_create``): late rows are counted, and a day whose
activity was deleted goes back to zeros rather than keeping stale figures.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from ..models import (
    Agent,
    AgentErrorLog,
    AgentUsageMetric,
    Conversation,
    LLMUsageLog,
    Message,
    MessageFeedback,
)

#: Days the summary on the agent covers.
WINDOW_DAYS = 30


def _percentile(values: list[int], p: float) -> int | None:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), tzinfo=timezone.get_current_timezone())
    return start, start + timedelta(days=1)


def _counts(queryset, agent_field: str) -> dict[int, int]:
    return dict(queryset.values_list(agent_field).annotate(n=Count("pk"))
                .values_list(agent_field, "n"))


def rollup_day(day: date) -> int:
    """Write ``day``'s metric row of every agent with activity that day (or a row to
    correct); returns the rows written and refreshes those agents' summaries."""
    start, end = _bounds(day)
    conversations = _counts(Conversation.objects.filter(created_at__gte=start,
                                                        created_at__lt=end), "agent_id")
    messages = _counts(Message.objects.filter(created_at__gte=start, created_at__lt=end),
                       "conversation__agent_id")
    errors = _counts(AgentErrorLog.objects.filter(created_at__gte=start, created_at__lt=end),
                     "agent_id")
    calls = (LLMUsageLog.objects.filter(created_at__gte=start, created_at__lt=end,
                                        agent_id__isnull=False)
             .values("agent_id")
             .annotate(n=Count("pk"), tokens_in=Sum("tokens_in"),
                       tokens_out=Sum("tokens_out"), cost=Sum("cost")))
    calls = {row["agent_id"]: row for row in calls}
    latencies: dict[int, list[int]] = defaultdict(list)
    for agent_id, latency in (LLMUsageLog.objects
                              .filter(created_at__gte=start, created_at__lt=end,
                                      agent_id__isnull=False, status=LLMUsageLog.Status.OK)
                              .values_list("agent_id", "latency_ms")):
        latencies[agent_id].append(latency)
    feedback: dict[int, dict[int, int]] = defaultdict(dict)
    for agent_id, rating, n in (MessageFeedback.objects
                                .filter(created_at__gte=start, created_at__lt=end)
                                .values_list("message__conversation__agent_id", "rating")
                                .annotate(n=Count("pk"))
                                .values_list("message__conversation__agent_id", "rating", "n")):
        feedback[agent_id][rating] = n
    existing = set(AgentUsageMetric.objects.filter(day=day).values_list("agent_id", flat=True))
    agent_ids = (set(conversations) | set(messages) | set(errors) | set(calls) | set(feedback)
                 | existing)
    workspaces = dict(Agent.objects.filter(pk__in=agent_ids).values_list("pk", "workspace_id"))
    for agent_id in sorted(workspaces):
        usage = calls.get(agent_id, {})
        durations = sorted(latencies.get(agent_id, []))
        ratings = feedback.get(agent_id, {})
        AgentUsageMetric.objects.update_or_create(
            agent_id=agent_id, day=day,
            defaults={"workspace_id": workspaces[agent_id],
                      "conversations": conversations.get(agent_id, 0),
                      "messages": messages.get(agent_id, 0),
                      "calls": usage.get("n", 0),
                      "tokens_in": usage.get("tokens_in") or 0,
                      "tokens_out": usage.get("tokens_out") or 0,
                      "cost": usage.get("cost") or Decimal(0),
                      "errors": errors.get(agent_id, 0),
                      "latency_p50_ms": _percentile(durations, 50),
                      "latency_p95_ms": _percentile(durations, 95),
                      "positive_feedback": ratings.get(MessageFeedback.Rating.POSITIVE, 0),
                      "negative_feedback": ratings.get(MessageFeedback.Rating.NEGATIVE, 0)})
    for agent_id in workspaces:
        refresh_performance(agent_id, through=day)
    return len(workspaces)


def refresh_performance(agent_id: int, *, through: date) -> dict:
    """``Agent.performance_metrics``: the ``WINDOW_DAYS`` days up to ``through``, from
    the daily rows.  Latency is the calls-weighted mean of the daily percentiles."""
    rows = list(AgentUsageMetric.objects.filter(
        agent_id=agent_id, day__gt=through - timedelta(days=WINDOW_DAYS), day__lte=through))
    total = {name: sum(getattr(row, name) for row in rows)
             for name in ("conversations", "messages", "calls", "tokens_in", "tokens_out",
                          "errors", "positive_feedback", "negative_feedback")}
    cost = sum((row.cost for row in rows), Decimal(0))
    timed = [row for row in rows if row.latency_p50_ms is not None and row.calls]
    weight = sum(row.calls for row in timed)

    def weighted(name: str) -> int | None:
        if not weight:
            return None
        return round(sum(getattr(row, name) * row.calls for row in timed) / weight)

    rated = total["positive_feedback"] + total["negative_feedback"]
    metrics = {
        "window_days": WINDOW_DAYS,
        "through": through.isoformat(),
        **total,
        "cost": str(cost.quantize(Decimal("0.00000001"))),
        "error_rate": round(total["errors"] / total["calls"], 4) if total["calls"] else None,
        "latency_p50_ms": weighted("latency_p50_ms"),
        "latency_p95_ms": weighted("latency_p95_ms"),
        "satisfaction": round(total["positive_feedback"] / rated, 4) if rated else None,
        "computed_at": timezone.now().isoformat(),
    }
    Agent.objects.filter(pk=agent_id).update(performance_metrics=metrics)
    return metrics

"""The nightly agent usage rollup: one row per agent and day with what happened that day,
rewritten (not duplicated) when run again, and the 30-day summary on the agent."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings

from agents.models import AgentUsageMetric, LLMUsageLog, MessageFeedback
from agents.services import rollups
from agents.tasks import rollups as rollup_tasks
from tests.factories.agents import (
    AgentErrorLogFactory,
    AgentFactory,
    ConversationFactory,
    LLMUsageLogFactory,
    MessageFactory,
    MessageFeedbackFactory,
)

pytestmark = pytest.mark.django_db
DAY = date(2026, 3, 2)
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def at(when: datetime, factory, **fields):
    """A row created at ``when`` (auto_now_add fields are set after creation)."""
    row = factory(**fields)
    type(row).objects.filter(pk=row.pk).update(created_at=when)
    return row


@pytest.fixture
def activity():
    """Agent A's day: 2 conversations, 3 messages, 4 calls (one failed), 1 error logged,
    2 positive and 1 negative rating.  Agent B only has a call the day before."""
    agent = AgentFactory()
    ws = agent.workspace
    first = at(NOON, ConversationFactory, workspace=ws, agent=agent)
    at(NOON, ConversationFactory, workspace=ws, agent=agent)
    messages = [MessageFactory(workspace=ws, conversation=first, created_at=NOON)
                for _ in range(3)]
    for latency, tokens, cost, status in ((100, 10, "0.001", "ok"), (300, 20, "0.002", "ok"),
                                          (200, 30, "0.003", "ok"), (9000, 0, "0", "error")):
        LLMUsageLogFactory(workspace=ws, agent=agent, conversation=first, created_at=NOON,
                           latency_ms=latency, tokens_in=tokens, tokens_out=tokens // 10,
                           cost=Decimal(cost), status=status)
    at(NOON, AgentErrorLogFactory, workspace=ws, agent=agent)
    for message, rating in zip(messages, (1, 1, -1), strict=True):
        at(NOON, MessageFeedbackFactory, workspace=ws, message=message, rating=rating)
    other = AgentFactory()
    LLMUsageLogFactory(workspace=other.workspace, agent=other,
                       created_at=NOON - timedelta(days=1), cost=Decimal("5"))
    # Outside the day (tomorrow 00:00) and not an agent's call (the playground).
    LLMUsageLogFactory(workspace=ws, agent=agent, created_at=NOON + timedelta(hours=12))
    LLMUsageLogFactory(workspace=ws, source=LLMUsageLog.Source.PLAYGROUND, created_at=NOON)
    return agent, other


def test_a_day_is_rolled_up_per_agent(activity):
    agent, _ = activity
    assert rollups.rollup_day(DAY) == 1
    metric = AgentUsageMetric.objects.get()
    assert (metric.agent, metric.workspace_id, metric.day) == (agent, agent.workspace_id, DAY)
    assert (metric.conversations, metric.messages, metric.calls, metric.errors) == (2, 3, 4, 1)
    assert (metric.tokens_in, metric.tokens_out, metric.cost) == (60, 6, Decimal("0.006"))
    # Latency of the successful calls only (the failed one waited for a timeout).
    assert (metric.latency_p50_ms, metric.latency_p95_ms) == (200, 300)
    assert (metric.positive_feedback, metric.negative_feedback) == (2, 1)


def test_running_it_again_rewrites_the_day(activity):
    agent, _ = activity
    rollups.rollup_day(DAY)
    LLMUsageLogFactory(workspace=agent.workspace, agent=agent, created_at=NOON,
                       latency_ms=100, tokens_in=40, tokens_out=4, cost=Decimal("0.004"))
    MessageFeedback.objects.filter(rating=-1).delete()
    rollups.rollup_day(DAY)
    metric = AgentUsageMetric.objects.get()
    assert (metric.calls, metric.tokens_in, metric.cost) == (5, 100, Decimal("0.010"))
    assert metric.negative_feedback == 0

    # A day whose activity is gone goes back to zeros instead of keeping stale figures.
    LLMUsageLog.objects.filter(agent=agent).delete()
    rollups.rollup_day(DAY)
    metric = AgentUsageMetric.objects.get()
    assert (metric.calls, metric.cost, metric.latency_p50_ms) == (0, Decimal(0), None)
    assert metric.conversations == 2


def test_the_agent_keeps_a_30_day_summary(activity):
    agent, _ = activity
    AgentUsageMetric.objects.create(workspace=agent.workspace, agent=agent,
                                    day=DAY - timedelta(days=1), calls=1, conversations=1,
                                    cost=Decimal("0.004"), latency_p50_ms=500,
                                    latency_p95_ms=500, errors=0)
    AgentUsageMetric.objects.create(workspace=agent.workspace, agent=agent,
                                    day=DAY - timedelta(days=31), calls=99,
                                    cost=Decimal("9"))  # outside the window
    rollups.rollup_day(DAY)
    agent.refresh_from_db()
    summary = agent.performance_metrics
    assert summary["through"] == "2026-03-02" and summary["window_days"] == 30
    assert (summary["conversations"], summary["calls"], summary["errors"]) == (3, 5, 1)
    assert summary["cost"] == "0.01000000"
    assert summary["error_rate"] == 0.2
    assert summary["satisfaction"] == round(2 / 3, 4)
    # Calls-weighted: (200 * 4 + 500 * 1) / 5.
    assert summary["latency_p50_ms"] == 260


def test_the_nightly_task_rolls_up_yesterday_and_is_scheduled(activity, monkeypatch):
    monkeypatch.setattr(rollup_tasks.timezone, "localdate", lambda: date(2026, 3, 3))
    assert rollup_tasks.rollup_agent_usage() == 1
    assert AgentUsageMetric.objects.get().day == DAY
    assert rollup_tasks.rollup_agent_usage("2026-03-01") == 1  # the other agent's day
    assert AgentUsageMetric.objects.count() == 2
    entry = settings.CELERY_BEAT_SCHEDULE["rollup-agent-usage"]
    assert entry["task"] == rollup_tasks.rollup_agent_usage.name

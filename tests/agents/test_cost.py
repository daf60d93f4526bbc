"""Cost intelligence: the sums equal the usage logs, grouped and filtered as asked, only
over what the caller may see; the month-end forecast and the top drivers."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.db.models import Sum

from agents import cost
from agents.models import LLMUsageLog
from core import tenancy
from tests.factories import MembershipFactory, WorkspaceFactory
from tests.factories.agents import AgentFactory, LLMModelFactory, LLMUsageLogFactory
from tests.factories.workflows import WorkflowFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 20)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def usage():
    """Workspace ws: agent A on model M1 (3 calls), agent B on M2 (1 call), a workflow
    call on M1 without an agent, one EUR call; another workspace with a big call."""
    ws = WorkspaceFactory(name="Acme")
    member = MembershipFactory(workspace=ws, role="member").user
    a, b = AgentFactory(workspace=ws, name="Alpha"), AgentFactory(workspace=ws, name="Beta")
    m1 = LLMModelFactory(workspace=ws, name="small")
    m2 = LLMModelFactory(workspace=ws, name="large")
    flow = WorkflowFactory(workspace=ws, name="Invoices")

    def log(when, cost, **fields):
        fields.setdefault("model", m1)
        return LLMUsageLogFactory(workspace=ws, created_at=when, cost=D(cost),
                                  model_name=fields["model"].name, **fields)

    log(at(TODAY), "1.25", agent=a, tokens_in=100, tokens_out=10)
    log(at(TODAY - timedelta(days=1)), "0.75", agent=a, tokens_in=50, tokens_out=5)
    log(at(TODAY - timedelta(days=1), 3), "0", agent=a, status="error", tokens_in=0,
        tokens_out=0)
    log(at(TODAY - timedelta(days=2)), "3.00", agent=b, model=m2, tokens_in=300,
        tokens_out=30)
    log(at(TODAY), "1.00", workflow=flow, source=LLMUsageLog.Source.WORKFLOW, tokens_in=10,
        tokens_out=1)
    log(at(TODAY), "9.00", agent=a, currency="EUR", tokens_in=1, tokens_out=1)
    # outside the default 30 days
    log(at(TODAY - timedelta(days=40)), "100", agent=a)
    other = AgentFactory()
    LLMUsageLogFactory(workspace=other.workspace, agent=other, created_at=at(TODAY),
                       cost=D("500"))
    return {"ws": ws, "member": member, "a": a, "b": b, "m1": m1, "m2": m2, "flow": flow,
            "principal": tenancy.Principal(user=member)}


def by(usage, group_by, **filters):
    return cost.cost_by(usage["principal"], group_by, cost.CostFilter(**filters), today=TODAY)


@pytest.mark.parametrize("group_by", cost.GROUPS)
def test_every_grouping_sums_to_the_usage_logs(usage, group_by):
    result = by(usage, group_by)
    logs = LLMUsageLog.objects.filter(workspace=usage["ws"],
                                      created_at__gte=at(TODAY - timedelta(days=29), 0))
    for currency in ("USD", "EUR"):
        expected = logs.filter(currency=currency).aggregate(s=Sum("cost"))["s"]
        rows = [r for r in result["rows"] if r["currency"] == currency]
        assert sum(r["cost"] for r in rows) == expected
        total = next(t for t in result["totals"] if t["currency"] == currency)
        assert total["cost"] == expected
    assert sum(r["calls"] for r in result["rows"]) == logs.count() == 6


def test_by_agent_labels_and_orders_by_cost(usage):
    rows = [(r["label"], r["currency"], r["calls"], r["tokens_in"], r["cost"])
            for r in by(usage, "agent")["rows"]]
    assert rows == [("Alpha", "EUR", 1, 1, D("9.00")), ("Beta", "USD", 1, 300, D("3.00")),
                    ("Alpha", "USD", 3, 150, D("2.00")),
                    ("(no agent)", "USD", 1, 10, D("1.00"))]


def test_by_day_in_date_order_and_dates_filter(usage):
    rows = by(usage, "day", date_from=TODAY - timedelta(days=1), date_to=TODAY)["rows"]
    assert [(r["label"], r["currency"], r["cost"]) for r in rows] == [
        ("2026-03-19", "USD", D("0.75")), ("2026-03-20", "EUR", D("9.00")),
        ("2026-03-20", "USD", D("2.25"))]


def test_filters_by_agent_model_and_workflow(usage):
    assert [r["cost"] for r in by(usage, "model", agent_id=usage["b"].pk)["rows"]] == [D(3)]
    assert [r["label"] for r in by(usage, "model", model_id=usage["m2"].pk)["rows"]] == [
        "large"]
    rows = by(usage, "workflow", workflow_id=usage["flow"].pk)["rows"]
    assert [(r["label"], r["cost"]) for r in rows] == [("Invoices", D("1.00"))]


def test_another_workspace_is_never_counted(usage):
    rows = by(usage, "workspace")["rows"]
    assert {r["label"] for r in rows} == {"Acme"}
    outsider = tenancy.Principal(user=MembershipFactory().user)
    result = cost.cost_by(outsider, "workspace", cost.CostFilter(), today=TODAY)
    assert result["rows"] == [] and result["totals"] == []


def test_drivers_with_share_of_total(usage):
    result = cost.drivers(usage["principal"], cost.CostFilter(), today=TODAY)
    # EUR 9.00 outweighs USD 6.00: without a currency the drivers are in EUR
    assert result["currency"] == "EUR"
    result = cost.drivers(usage["principal"], cost.CostFilter(), today=TODAY, currency="USD")
    assert result["total"] == D("6.00")
    assert [(r["label"], r["cost"], r["share"]) for r in result["agents"]] == [
        ("Beta", D("3.00"), D("50.00")), ("Alpha", D("2.00"), D("33.33")),
        ("(no agent)", D("1.00"), D("16.67"))]
    # a tie is broken by id: small was created first
    assert [(r["label"], r["share"]) for r in result["models"]] == [
        ("small", D("50.00")), ("large", D("50.00"))]
    assert [(r["label"], r["share"]) for r in result["workflows"]] == [
        ("(no workflow)", D("83.33")), ("Invoices", D("16.67"))]
    top = cost.drivers(usage["principal"], cost.CostFilter(), today=TODAY, currency="USD",
                       limit=1)
    assert [r["label"] for r in top["agents"]] == ["Beta"]


def test_month_end_forecast_from_daily_cost(usage):
    result = cost.forecast(usage["principal"], cost.CostFilter(), today=TODAY, currency="USD")
    # USD by day: Feb 8 100 (first day with usage), ..., Mar 18 3.00, Mar 19 0.75,
    # today 2.25 so far
    assert result.history_from == date(2026, 2, 8)
    assert len(result.history) == 40  # Feb 8 .. Mar 19
    assert result.history[-2:] == (D("3.00"), D("0.75"))
    assert result.month_end.to_date == D("6.00")
    # weekly seasonal naive: the forecast for Mar 20..31 repeats Mar 13..19 = zeros but
    # Mar 18 (3.00) and Mar 19 (0.75): days Mar 25 and 26 -> 3.75 added
    assert result.month_end.method == "seasonal_naive"
    assert result.month_end.remaining == D("3.75")
    assert result.month_end.projected == D("9.75")
    assert result.month_end.error is not None


def test_forecast_scoped_to_an_agent_and_to_nothing(usage):
    result = cost.forecast(usage["principal"], cost.CostFilter(agent_id=usage["b"].pk),
                           today=TODAY)
    # Beta: only Mar 18 (3.00): history Mar 18..19 = 3, 0; SES 3 -> 1.5 for 12 days
    assert result.history == (D(3), D(0))
    assert result.month_end.projected == D("3.00") + 12 * D("1.5")
    none = cost.forecast(tenancy.Principal(user=MembershipFactory().user), cost.CostFilter(),
                         today=TODAY)
    assert none.currency == "USD" and none.history == () and none.month_end.projected == 0

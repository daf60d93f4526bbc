"""Budget alerts: a month-end projection over a quota's cost limit emails the owners and
admins once per quota and month; under the limit, or already told, nothing is sent."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.core import mail

from agents.services import budgets
from agents.tasks import budgets as budget_tasks
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.factories.agents import AgentFactory, AgentQuotaFactory, LLMUsageLogFactory
from workspaces.models import Activity

pytestmark = pytest.mark.django_db
TODAY = date(2026, 4, 10)


@pytest.fixture
def spend():
    """Agent A costs 2.00 a day for the last 14 days: April 1-9 = 18.00 so far; the weekly
    seasonal naive forecast adds 2.00 for each of April 10..30 (21 days) = 60.00 by May."""
    ws = WorkspaceFactory(name="Acme")
    for role, email in (("owner", "owner@acme.test"), ("admin", "admin@acme.test"),
                        ("member", "member@acme.test")):
        MembershipFactory(workspace=ws, role=role, user=UserFactory(email=email))
    agent = AgentFactory(workspace=ws, name="Helpdesk")
    for back in range(1, 15):
        day = TODAY - timedelta(days=back)
        LLMUsageLogFactory(workspace=ws, agent=agent, cost=D("2.00"),
                           created_at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
    return ws, agent


def test_projection_over_an_agent_quota_emails_owners_and_admins_once(
        spend, django_capture_on_commit_callbacks):
    ws, agent = spend
    quota = AgentQuotaFactory(workspace=ws, agent=agent, max_cost=D("50"))
    with django_capture_on_commit_callbacks(execute=True):
        alerts = budgets.check_all(today=TODAY)
    assert [(a.quota_id, a.period, a.projected) for a in alerts] == [
        (quota.pk, "2026-04", D("60.00"))]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["admin@acme.test", "owner@acme.test"]
    assert 'agent "Helpdesk"' in message.subject and "60.00 USD" in message.subject
    assert "Spent so far this month: 18.00" in message.body
    assert "limit is 50.00 USD" in message.body
    feed = Activity.objects.get(workspace=ws, verb=budgets.BUDGET_VERB)
    assert feed.data["period"] == "2026-04" and feed.target_id == str(quota.pk)
    # the next day's run (and a re-run) send nothing more this month
    with django_capture_on_commit_callbacks(execute=True):
        assert budgets.check_all(today=TODAY + timedelta(days=1)) == []
    assert budget_tasks.check_budgets.delay(TODAY.isoformat()).get() == 0
    assert len(mail.outbox) == 1


def test_a_new_month_alerts_again(spend, django_capture_on_commit_callbacks):
    ws, agent = spend
    AgentQuotaFactory(workspace=ws, agent=None, max_cost=D("50"))
    with django_capture_on_commit_callbacks(execute=True):
        assert len(budgets.check_all(today=TODAY)) == 1
    # May 1: April's 2.00/day carries on in the forecast: 31 days x 2.00 = 62 > 50
    may = date(2026, 5, 1)
    for day in (TODAY + timedelta(days=n) for n in range(0, 21)):
        LLMUsageLogFactory(workspace=ws, agent=agent, cost=D("2.00"),
                           created_at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
    with django_capture_on_commit_callbacks(execute=True):
        alerts = budgets.check_all(today=may)
    assert [(a.period, a.projected) for a in alerts] == [("2026-05", D("62.00"))]
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject.startswith("Budget alert: the workspace")


def test_under_the_limit_other_scopes_and_day_quotas_stay_quiet(spend):
    ws, agent = spend
    AgentQuotaFactory(workspace=ws, agent=agent, max_cost=D("60"))  # exactly on it: fine
    other = AgentFactory(workspace=ws)
    AgentQuotaFactory(workspace=ws, agent=other, max_cost=D("1"))  # the other agent spends 0
    AgentQuotaFactory(workspace=ws, agent=None, period="day", max_cost=D("1"))
    AgentQuotaFactory(workspace=ws, agent=None, max_cost=D("1"), enabled=False)
    AgentQuotaFactory(workspace=WorkspaceFactory(), agent=None, max_cost=D("1"))
    assert budgets.check_all(today=TODAY) == []
    assert mail.outbox == []


def test_a_quota_in_another_currency_counts_only_that_currency(spend):
    ws, agent = spend
    AgentQuotaFactory(workspace=ws, agent=agent, max_cost=D("5"), currency="EUR")
    assert budgets.check_all(today=TODAY) == []
    LLMUsageLogFactory(workspace=ws, agent=agent, cost=D("6"), currency="EUR",
                       created_at=datetime(2026, 4, 2, 9, tzinfo=UTC))
    # EUR history Apr 2..9 = 6, then seven zeros: SES level 6 / 2**7 = 0.046875 per day
    # for the 21 days left: 6 + 0.984375
    assert [a.projected for a in budgets.check_all(today=TODAY)] == [D("6.984375")]

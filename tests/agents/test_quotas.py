"""Quotas: reservations held against the agent's and the workspace's quota, settled with
real usage, released on failure; periods roll over; 80% and 100% alerts once a period."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core import mail

from agents.models import AgentQuota
from agents.services import quotas
from core import events
from tests.factories.agents import AgentFactory, AgentQuotaFactory
from tests.factories.workspaces import MembershipFactory

pytestmark = pytest.mark.django_db


class Clock:
    """Stands in for django.utils.timezone.now where the quotas read the time."""

    def __init__(self, monkeypatch):
        real, self.now = quotas.timezone.now, None
        monkeypatch.setattr(quotas.timezone, "now", lambda: self.now or real())

    def at(self, text: str) -> "Clock":
        self.now = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def agent():
    return AgentFactory()


def quota(agent, **fields):
    fields = {"max_tokens": None, "max_cost": Decimal("1.00"), **fields}
    return AgentQuotaFactory(workspace=agent.workspace, agent=agent, **fields)


def test_a_reservation_holds_cost_until_settled_with_the_real_usage(agent):
    q = quota(agent)
    held = quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=500,
                          cost=Decimal("0.40"))
    q.refresh_from_db()
    assert (q.tokens_reserved, q.cost_reserved) == (500, Decimal("0.40"))
    quotas.settle(held, tokens=120, cost=Decimal("0.10"))
    q.refresh_from_db()
    assert (q.tokens_reserved, q.cost_reserved) == (0, Decimal(0))
    assert (q.tokens_used, q.cost_used) == (120, Decimal("0.10"))


def test_a_call_past_the_limit_is_refused_naming_the_quota_and_its_reset(agent, clock):
    q = quota(agent)
    with clock.at("2026-03-14 10:00:00"):
        quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=1,
                       cost=Decimal("0.70"))
        with pytest.raises(quotas.QuotaExhausted) as refused:
            quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=1,
                           cost=Decimal("0.40"))
    error = refused.value
    assert error.status_code == 429 and error.error_code == "quota_exhausted"
    assert error.errors["quota"] == q.pk
    assert error.errors["resets_at"] == "2026-04-01T00:00:00+00:00"
    assert f'agent "{agent.name}"' in error.message and "2026-04-01" in error.message
    assert "monthly" in error.message
    assert int(error.headers["Retry-After"]) == 17 * 86400 + 14 * 3600
    q.refresh_from_db()
    assert q.cost_reserved == Decimal("0.70")  # the refused call held nothing


def test_the_workspace_quota_covers_every_agent_and_the_token_limit_counts(agent):
    other = AgentFactory(workspace=agent.workspace)
    AgentQuotaFactory(workspace=agent.workspace, agent=None, period="day", max_tokens=1000,
                      max_cost=None)
    quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=700,
                   cost=Decimal(0))
    with pytest.raises(quotas.QuotaExhausted) as refused:
        quotas.reserve(workspace_id=agent.workspace_id, agent_id=other.pk, tokens=400,
                       cost=Decimal(0))
    assert "daily quota of the workspace" in refused.value.message
    assert refused.value.errors["limit_kind"] == "tokens"


def test_a_released_reservation_frees_its_room(agent):
    quota(agent)
    held = quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=10,
                          cost=Decimal("0.90"))
    quotas.release(held)
    quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=10,
                   cost=Decimal("0.90"))  # would not fit next to the first


def test_disabled_quotas_and_other_agents_quotas_do_not_apply(agent):
    quota(agent, enabled=False, max_cost=Decimal("0.01"))
    quota(AgentFactory(workspace=agent.workspace), max_cost=Decimal("0.01"))
    held = quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=10,
                          cost=Decimal("5"))
    assert held.quota_ids == []


def test_a_new_period_starts_from_zero(agent, clock):
    q = quota(agent, period=AgentQuota.Period.DAY)
    with clock.at("2026-03-14 23:59:00"):
        held = quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=5,
                              cost=Decimal("0.90"))
        quotas.settle(held, tokens=5, cost=Decimal("0.90"))
        with pytest.raises(quotas.QuotaExhausted):
            quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=5,
                           cost=Decimal("0.20"))
    with clock.at("2026-03-15 00:00:01"):
        quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=5,
                       cost=Decimal("0.20"))
    q.refresh_from_db()
    assert q.period_start == datetime(2026, 3, 15, tzinfo=UTC)
    assert q.cost_used == 0 and q.alerted_percent == 0


def test_owners_and_admins_get_one_email_at_80_and_one_at_100_percent(
        agent, django_capture_on_commit_callbacks):
    owner = MembershipFactory(workspace=agent.workspace, role="owner").user
    admin = MembershipFactory(workspace=agent.workspace, role="admin").user
    MembershipFactory(workspace=agent.workspace, role="member")
    seen = []
    events.subscribe(seen.append)  # bound methods compare equal: unsubscribed below
    try:
        quota(agent)
        with django_capture_on_commit_callbacks(execute=True):
            for cost in ("0.50", "0.32", "0.05", "0.13"):
                held = quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk,
                                      tokens=1, cost=Decimal(cost))
                quotas.settle(held, tokens=1, cost=Decimal(cost))
            with pytest.raises(quotas.QuotaExhausted):
                quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=1,
                               cost=Decimal("0.01"))
    finally:
        events.unsubscribe(seen.append)
    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == 2
    assert "80%" in subjects[0] and "100%" in subjects[1]
    assert sorted(mail.outbox[0].to) == sorted([owner.email, admin.email])
    assert "refused until it resets" in mail.outbox[1].body
    alerts = [e.payload["percent"] for e in seen if e.name == "agents.quota.threshold"]
    assert alerts == [80, 100]


def test_a_new_period_alerts_again(agent, clock, django_capture_on_commit_callbacks):
    MembershipFactory(workspace=agent.workspace, role="owner")
    quota(agent, period=AgentQuota.Period.DAY)
    with django_capture_on_commit_callbacks(execute=True):
        for day in ("2026-03-14 12:00", "2026-03-15 12:00"):
            with clock.at(day):
                held = quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk,
                                      tokens=1, cost=Decimal("0.85"))
                quotas.settle(held, tokens=1, cost=Decimal("0.85"))
    assert [m.subject[:9] for m in mail.outbox] == ["Quota 80%", "Quota 80%"]


def test_a_quota_enabled_after_an_uncovered_call_holds_the_next_one(agent):
    off = quota(agent, enabled=False, max_cost=Decimal("0.50"))
    first = quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=10,
                           cost=Decimal("0.40"))
    assert first.quota_ids == []
    AgentQuota.objects.filter(pk=off.pk).update(enabled=True)
    second = quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=10,
                            cost=Decimal("0.40"))
    assert second.quota_ids == [off.pk]
    with pytest.raises(quotas.QuotaExhausted):
        quotas.reserve(workspace_id=agent.workspace_id, agent_id=agent.pk, tokens=10,
                       cost=Decimal("0.40"))

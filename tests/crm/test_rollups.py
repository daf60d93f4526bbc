"""Call rollups: equal to a direct aggregate over the calls of the same period (UTC days,
per workspace and agent, the no-agent row included), recomputing a period changes
nothing, and a recompute follows changed, new and vanished calls."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Q, Sum

from core.api.errors import ApiError
from crm.models import Call
from crm.models.rollups import CallDailyMetric
from crm.services import rollups
from tests.factories import AgentFactory, CallFactory, ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db
S = Call.Status
D1, D2, D3 = date(2026, 5, 10), date(2026, 5, 11), date(2026, 5, 12)


def at(day, hour=12, minute=0, second=0):
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def call(contact, agent, when, *, status=S.COMPLETED, duration=0, cost="0", credits="0"):
    made = CallFactory(workspace=contact.workspace, contact=contact, agent=agent,
                       status=status, duration_seconds=duration, cost=Decimal(cost),
                       credits_charged=Decimal(credits), ended_at=when)
    Call.objects.filter(pk=made.pk).update(created_at=when)
    return made


@pytest.fixture
def world():
    """Two workspaces, two agents in the first, calls over three days and at the UTC
    day's edges, some without an agent, every status."""
    a = ContactFactory()
    ws = a.workspace
    b = ContactFactory(workspace=ws)
    sales, support = AgentFactory(workspace=ws, kind="voice"), AgentFactory(workspace=ws,
                                                                            kind="voice")
    other = ContactFactory()
    other_agent = AgentFactory(workspace=other.workspace, kind="voice")
    call(a, sales, at(D1, 9), duration=61, cost="0.10", credits="20")
    call(a, sales, at(D1, 23, 59, 59), duration=200, cost="0.30", credits="40")
    call(b, sales, at(D2, 0), status=S.NO_ANSWER)
    call(b, support, at(D1, 10), status=S.BUSY)
    call(b, support, at(D2, 11), duration=95, cost="0.2", credits="20")
    call(b, None, at(D2, 12), duration=30, cost="0.05", credits="10")
    call(b, None, at(D2, 13), status=S.FAILED)
    call(a, sales, at(D3, 8), duration=10, cost="0.01", credits="10")
    call(other, other_agent, at(D2, 14), duration=300, cost="0.5", credits="50")
    call(other, other_agent, at(D3 + timedelta(days=1), 0), duration=40)   # out of range
    call(a, sales, at(D1 - timedelta(days=1), 23, 59, 59), duration=40)     # out of range
    # a converts on D2 after a completed call of sales; b on D3 after support's call
    CustomerFactory(workspace=ws, contact=a, converted_at=at(D2, 9))
    CustomerFactory(workspace=ws, contact=b, converted_at=at(D3, 9))
    return ws, sales, support, other.workspace


def direct(start, end):
    """The same figures straight from the calls, in Python."""
    rows = defaultdict(lambda: {"calls": 0, "connected": 0, "total": 0, "connected_s": 0,
                                "cost": Decimal(0), "credits": Decimal(0)})
    for c in Call.objects.all():
        day = c.created_at.astimezone(UTC).date()
        if not start <= day <= end:
            continue
        row = rows[(c.workspace_id, day, c.agent_id)]
        row["calls"] += 1
        row["total"] += c.duration_seconds
        row["cost"] += c.cost
        row["credits"] += c.credits_charged
        if c.status == S.COMPLETED:
            row["connected"] += 1
            row["connected_s"] += c.duration_seconds
    return {key: (r["calls"], r["connected"], r["total"],
                  (Decimal(r["connected_s"]) / r["connected"]).quantize(Decimal("0.01"))
                  if r["connected"] else Decimal("0.00"), r["cost"], r["credits"])
            for key, r in rows.items()}


def stored():
    """The rows with calls (a row without calls exists only for its conversions)."""
    assert not CallDailyMetric.objects.filter(calls=0, conversions=0).exists()
    return {(r.workspace_id, r.day, r.agent_id): (
        r.calls, r.connected, r.total_duration_seconds, r.avg_duration_seconds, r.cost,
        r.credits) for r in CallDailyMetric.objects.filter(calls__gt=0)}


def snapshot():
    return sorted(CallDailyMetric.objects.values_list(
        "pk", "workspace_id", "day", "agent_id", "calls", "connected", "total_duration_seconds",
        "avg_duration_seconds", "cost", "credits", "conversions", "computed_at"))


def test_rollups_equal_a_direct_aggregate_over_the_calls(world):
    ws, sales, _support, _ = world
    rollups.rollup(D1, D3)
    assert stored() == direct(D1, D3)
    assert len(stored()) == 7
    assert CallDailyMetric.objects.count() == 8     # and D3's conversion without an agent
    d1_sales = CallDailyMetric.objects.get(workspace=ws, day=D1, agent=sales)
    assert (d1_sales.calls, d1_sales.connected, d1_sales.avg_duration_seconds,
            d1_sales.connect_rate) == (2, 2, Decimal("130.50"), Decimal("1.0000"))
    # the period's totals are the database's own aggregate over the same calls
    period = Call.objects.filter(created_at__gte=at(D1, 0), created_at__lt=at(D3, 0)
                                 + timedelta(days=1))
    agg = period.aggregate(n=Count("id"), ok=Count("id", filter=Q(status=S.COMPLETED)),
                           s=Sum("duration_seconds"), cost=Sum("cost"),
                           credits=Sum("credits_charged"))
    total = rollups.totals(list(CallDailyMetric.objects.all()))
    assert (total["calls"], total["connected"], total["total_duration_seconds"],
            total["cost"], total["credits"]) == (agg["n"], agg["ok"], agg["s"], agg["cost"],
                                                 agg["credits"])
    assert total["connect_rate"] == (Decimal(agg["ok"]) / agg["n"]).quantize(Decimal("0.0001"))


def test_conversions_go_to_the_agent_of_the_last_completed_call(world):
    ws, sales, _support, _ = world
    rollups.rollup(D1, D3)
    conversions = {(r.day, r.agent_id): r.conversions
                   for r in CallDailyMetric.objects.filter(workspace=ws) if r.conversions}
    # b's last completed call before D3 09:00 is the no-agent call of D2 12:00
    assert conversions == {(D2, sales.pk): 1, (D3, None): 1}


def test_recomputing_a_period_changes_nothing(world):
    rollups.rollup(D1, D3)
    before = snapshot()
    stats = rollups.rollup(D1, D3)
    assert stats == {"created": 0, "updated": 0, "deleted": 0, "unchanged": len(before)}
    assert snapshot() == before
    rollups.rollup(D2, D2)                      # a part of the period: the same
    assert snapshot() == before


def test_a_recompute_follows_new_changed_and_vanished_calls(world):
    ws, sales, support, _ = world
    rollups.rollup(D1, D3)
    contact = ContactFactory(workspace=ws)
    call(contact, support, at(D3, 16), duration=50, cost="0.04", credits="10")
    Call.objects.filter(agent=sales, created_at__gte=at(D3, 0)).delete()
    Call.objects.filter(agent=support, created_at__lt=at(D2, 0)).update(cost=Decimal("1"))
    stats = rollups.rollup(D1, D3)
    assert stats["created"] == 1 and stats["deleted"] == 1 and stats["updated"] == 1
    assert stored() == direct(D1, D3)


def test_one_workspace_leaves_the_others_alone(world):
    ws, _, _, other_ws = world
    rollups.rollup(D1, D3, workspace_id=ws.pk)
    assert set(CallDailyMetric.objects.values_list("workspace_id", flat=True)) == {ws.pk}
    rollups.rollup(D1, D3)
    Call.objects.filter(workspace=other_ws).delete()
    rollups.rollup(D1, D3, workspace_id=ws.pk)
    assert CallDailyMetric.objects.filter(workspace=other_ws).count() == 1


def test_a_backwards_range_is_refused():
    with pytest.raises(ApiError) as refused:
        rollups.rollup(D2, D1)
    assert refused.value.status_code == 400


def test_the_command_recomputes_a_range_and_says_what_it_did(world):
    out = StringIO()
    call_command("crm_rollup", "--from", str(D1), "--to", str(D3), stdout=out)
    assert out.getvalue().strip() == f"{D1}..{D3}: 8 created, 0 updated, 0 deleted, " \
                                     "0 unchanged"
    out = StringIO()
    call_command("crm_rollup", "--from", str(D1), "--to", str(D3), stdout=out)
    assert "0 created, 0 updated, 0 deleted, 8 unchanged" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("crm_rollup", "--from", "yesterday")


def test_the_nightly_task_rolls_up_yesterday():
    from crm.tasks_leads import rollup_yesterday

    contact = ContactFactory()
    agent = AgentFactory(workspace=contact.workspace, kind="voice")
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    call(contact, agent, at(yesterday, 12), duration=90)
    call(contact, agent, datetime.now(UTC), duration=90)          # today: not yet
    assert rollup_yesterday() == {"created": 1, "updated": 0, "deleted": 0, "unchanged": 0}
    row = CallDailyMetric.objects.get()
    assert (row.day, row.agent, row.calls) == (yesterday, agent, 1)

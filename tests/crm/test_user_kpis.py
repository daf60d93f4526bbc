"""User KPIs: per workspace, UTC day and CRM user (the call's placer, else the contact's
owner; the follow-up's assignee), equal to a direct aggregate over the same calls and
follow-ups; recomputing changes nothing; a recompute follows changes; one workspace's
recompute leaves the others' rows alone."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from crm.models import Call, FollowUp
from crm.models.rollups import UserDailyKpi
from crm.services import kpis, rollups
from tests.factories import (
    CallFactory,
    ContactFactory,
    CustomerFactory,
    FollowUpFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
S = Call.Status
D1, D2, D3 = date(2026, 5, 10), date(2026, 5, 11), date(2026, 5, 12)


def at(day, hour=12, minute=0, second=0):
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def call(contact, when, *, by=None, status=S.COMPLETED, duration=0, cost="0", credits="0"):
    made = CallFactory(workspace=contact.workspace, contact=contact, placed_by=by,
                       status=status, duration_seconds=duration, cost=Decimal(cost),
                       credits_charged=Decimal(credits), ended_at=when)
    Call.objects.filter(pk=made.pk).update(created_at=when)
    return made


def follow_up(contact, assignee, due, *, status=FollowUp.Status.OPEN, completed=None):
    return FollowUpFactory(workspace=contact.workspace, contact=contact, assignee=assignee,
                           due_at=due, status=status, completed_at=completed)


@pytest.fixture
def world():
    """Two users of one workspace (ana places calls, rui owns a contact), a contact
    nobody owns, calls placed by hand, by the dialer (nobody) and at the days' edges,
    follow-ups done on time, late, never, cancelled; another workspace."""
    ana, rui = UserFactory(), UserFactory()
    owned = ContactFactory(owner=rui)
    ws = owned.workspace
    nobodys = ContactFactory(workspace=ws)
    call(owned, at(D1, 9), by=ana, duration=100, cost="0.10", credits="10")
    call(owned, at(D1, 23, 59, 59), duration=60, cost="0.05", credits="10")     # rui's
    call(owned, at(D2, 0), status=S.NO_ANSWER)                                  # rui's
    call(nobodys, at(D2, 10), duration=30, cost="0.02", credits="5")            # nobody's
    call(nobodys, at(D2, 11), by=ana, status=S.BUSY)
    call(nobodys, at(D3, 8), by=rui, duration=240, cost="0.3", credits="30")
    call(owned, at(D1 - timedelta(days=1), 23, 59, 59), by=ana, duration=9)     # out of range
    # owned converts on D2: its last completed call before is rui's (the dialer's) on D1
    CustomerFactory(workspace=ws, contact=owned, converted_at=at(D2, 9))
    follow_up(owned, ana, at(D1, 15), status=FollowUp.Status.DONE,
              completed=at(D1, 14))                                             # done, on time
    follow_up(owned, ana, at(D1, 16))                                           # overdue D1
    follow_up(owned, ana, at(D2, 9), status=FollowUp.Status.DONE,
              completed=at(D3, 10))                                             # late: both
    follow_up(owned, rui, at(D2, 9), status=FollowUp.Status.CANCELLED)          # never counts
    follow_up(nobodys, None, at(D3, 7))                                         # nobody's
    other = ContactFactory(owner=ana)                                           # elsewhere
    call(other, at(D2, 14), duration=300, cost="0.5", credits="50")
    follow_up(other, ana, at(D2, 8))
    return ws, ana, rui, other.workspace


def direct(start, end):
    """The same figures straight from the calls and follow-ups, in Python."""
    rows = defaultdict(lambda: dict.fromkeys(kpis.VALUES, 0))

    def day_of(moment):
        day = moment.astimezone(UTC).date()
        return day if start <= day <= end else None

    for c in Call.objects.select_related("contact"):
        day = day_of(c.created_at)
        if day is None:
            continue
        row = rows[(c.workspace_id, day, c.placed_by_id or c.contact.owner_id)]
        row["calls"] += 1
        row["cost"] += c.cost
        row["credits"] += c.credits_charged
        if c.status == S.COMPLETED:
            row["connected"] += 1
            row["talk_time_seconds"] += c.duration_seconds
    for f in FollowUp.objects.all():
        if f.status == FollowUp.Status.DONE and day_of(f.completed_at):
            rows[(f.workspace_id, day_of(f.completed_at), f.assignee_id)][
                "follow_ups_done"] += 1
        missed = f.status == FollowUp.Status.OPEN or (
            f.status == FollowUp.Status.DONE and f.completed_at > f.due_at)
        if missed and day_of(f.due_at):
            rows[(f.workspace_id, day_of(f.due_at), f.assignee_id)]["follow_ups_overdue"] += 1
    return {key: {k: Decimal(v) for k, v in row.items() if k != "conversions"}
            for key, row in rows.items()}


def stored():
    return {(r.workspace_id, r.day, r.user_id): {k: Decimal(getattr(r, k))
                                                 for k in kpis.VALUES if k != "conversions"}
            for r in UserDailyKpi.objects.all()}


def snapshot():
    return sorted(UserDailyKpi.objects.values_list("pk", *kpis.VALUES, "computed_at"))


def test_user_kpis_equal_a_direct_aggregate_over_calls_and_follow_ups(world):
    ws, ana, rui, _ = world
    rollups.rollup_user_kpis(D1, D3)
    assert stored() == direct(D1, D3)
    ana_d1 = UserDailyKpi.objects.get(workspace=ws, day=D1, user=ana)
    assert (ana_d1.calls, ana_d1.connected, ana_d1.talk_time_seconds, ana_d1.cost,
            ana_d1.follow_ups_done, ana_d1.follow_ups_overdue) == (
        1, 1, 100, Decimal("0.1000"), 1, 1)
    rui_d1 = UserDailyKpi.objects.get(workspace=ws, day=D1, user=rui)
    assert (rui_d1.calls, rui_d1.talk_time_seconds) == (1, 60)   # the dialer's call
    nobody_d2 = UserDailyKpi.objects.get(workspace=ws, day=D2, user=None)
    assert (nobody_d2.calls, nobody_d2.connected) == (1, 1)
    ana_d2 = UserDailyKpi.objects.get(workspace=ws, day=D2, user=ana)
    assert (ana_d2.calls, ana_d2.connected, ana_d2.connect_rate,
            ana_d2.follow_ups_overdue) == (1, 0, Decimal("0"), 1)
    assert UserDailyKpi.objects.get(workspace=ws, day=D3, user=ana).follow_ups_done == 1


def test_a_conversion_counts_for_the_user_of_the_last_completed_call(world):
    ws, _ana, rui, _ = world
    rollups.rollup_user_kpis(D1, D3)
    converted = {(r.day, r.user_id): r.conversions
                 for r in UserDailyKpi.objects.filter(workspace=ws) if r.conversions}
    assert converted == {(D2, rui.pk): 1}


def test_recomputing_changes_nothing_and_follows_changes(world):
    ws, ana, _rui, _ = world
    first = rollups.rollup_user_kpis(D1, D3)
    assert first["created"] == UserDailyKpi.objects.count() > 0
    before = snapshot()
    again = rollups.rollup_user_kpis(D1, D3)
    assert again == {"created": 0, "updated": 0, "deleted": 0, "unchanged": len(before)}
    assert snapshot() == before
    rollups.rollup_user_kpis(D2, D2)                  # part of the period: the same
    assert snapshot() == before
    Call.objects.filter(placed_by=ana, created_at__gte=at(D2, 0)).delete()   # ana's D2 call
    FollowUp.objects.filter(assignee=ana, due_at=at(D2, 9)).delete()
    FollowUp.objects.filter(assignee=ana, due_at=at(D1, 16)).update(
        status=FollowUp.Status.DONE, completed_at=at(D1, 15))
    stats = rollups.rollup_user_kpis(D1, D3)
    assert (stats["deleted"], stats["updated"]) == (2, 1)   # ana's D2 and D3; ana's D1
    assert stored() == direct(D1, D3)
    ana_d1 = UserDailyKpi.objects.get(workspace=ws, day=D1, user=ana)
    assert (ana_d1.follow_ups_done, ana_d1.follow_ups_overdue) == (2, 0)


def test_one_workspaces_recompute_leaves_the_others_alone(world):
    ws, _ana, _rui, elsewhere = world
    rollups.rollup_user_kpis(D1, D3, workspace_id=ws.pk)
    assert not UserDailyKpi.objects.filter(workspace=elsewhere).exists()
    rollups.rollup_user_kpis(D1, D3)
    theirs = sorted(UserDailyKpi.objects.filter(workspace=elsewhere)
                    .values_list("pk", "calls", "follow_ups_overdue", "computed_at"))
    assert [(calls, overdue) for _, calls, overdue, _ in theirs] == [(1, 1)]
    Call.objects.filter(workspace=ws).delete()
    rollups.rollup_user_kpis(D1, D3, workspace_id=ws.pk)
    assert sorted(UserDailyKpi.objects.filter(workspace=elsewhere).values_list(
        "pk", "calls", "follow_ups_overdue", "computed_at")) == theirs
    assert not UserDailyKpi.objects.filter(workspace=ws, calls__gt=0).exists()


def test_the_command_and_the_nightly_task(world):
    out = StringIO()
    call_command("crm_rollup", "--from", str(D1), "--to", str(D3), "--table", "all",
                 stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith(f"{D1}..{D3}: ") and lines[1].startswith(f"user KPIs {D1}..")
    count = UserDailyKpi.objects.count()
    assert f"{count} created" in lines[1]
    out = StringIO()
    call_command("crm_rollup", "--from", str(D1), "--to", str(D3), "--table", "user-kpis",
                 stdout=out)
    assert out.getvalue().strip() == f"user KPIs {D1}..{D3}: 0 created, 0 updated, " \
                                     f"0 deleted, {count} unchanged"

    from crm.tasks_leads import rollup_user_kpis_yesterday

    contact = ContactFactory(owner=UserFactory())
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    call(contact, at(yesterday, 12), duration=90)
    call(contact, datetime.now(UTC), duration=90)          # today: not yet
    assert rollup_user_kpis_yesterday()["created"] == 1
    row = UserDailyKpi.objects.get(workspace=contact.workspace)
    assert (row.day, row.user, row.calls) == (yesterday, contact.owner, 1)


def test_totals_sum_the_rows_with_the_connect_rate(world):
    rollups.rollup_user_kpis(D1, D3)
    rows = list(UserDailyKpi.objects.filter(workspace=world[0]))
    total = kpis.totals(rows)
    assert (total["calls"], total["connected"], total["talk_time_seconds"],
            total["conversions"]) == (6, 4, 430, 1)
    assert total["connect_rate"] == Decimal("0.6667")
    assert total["cost"] == Decimal("0.4700")

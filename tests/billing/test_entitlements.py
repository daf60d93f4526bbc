"""Entitlements: the allowance maths (plan, default plan, overrides, periods, usage), the
workspace's derived fields, and the entitlements API."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from billing import entitlements as ent
from billing import metering
from billing.models import UsageRecord
from tests.billing.entitlements_support import plan_with, set_limit, subscribe
from tests.contract.isolation import key_client
from tests.factories import (
    AgentFactory,
    ApiKeyFactory,
    EntitlementFactory,
    MembershipFactory,
    SubscriptionFactory,
    UsageRecordFactory,
    UserFactory,
    WorkspaceFactory,
)
from tests.factories import TestClockFactory as ClockFactory
from workspaces.models import WorkspaceFeature

pytestmark = pytest.mark.django_db
URL = "/api/v1/billing/entitlements/"


@pytest.fixture
def workspace():
    return WorkspaceFactory()


def executions(workspace, n, when=None):
    for _ in range(n):
        UsageRecordFactory(workspace=workspace, metric="executions", quantity=1,
                           occurred_at=when or timezone.now())


# --- which values apply ---------------------------------------------------------------


def test_without_any_plan_everything_is_unlimited_and_one_query(
        workspace, features, django_assert_num_queries):
    with django_assert_num_queries(1):
        allowed = ent.require(workspace.pk, "agents", 10**9)
    assert allowed.limit is None and allowed.remaining is None
    assert all(v.source == "unlimited" and v.limit is None and v.enabled
               for v in ent.values(workspace.pk).values())
    assert ent.plan_of(workspace.pk) is None
    assert ent.enabled(workspace.pk, "knowledge_bases")


def test_the_subscriptions_plan_sets_the_limits(workspace, features):
    subscribe(workspace, plan_with(features, executions_per_month=5, agents=2))
    values = ent.values(workspace.pk)
    assert values["executions_per_month"].limit == 5
    assert values["executions_per_month"].source == "plan"
    assert values["agents"].limit == 2
    assert values["seats"].limit is None  # a limit the plan does not set: unlimited


def test_a_workspace_without_subscription_uses_the_default_plan(workspace, features):
    default = plan_with(features, is_default=True, agents=1)
    assert ent.plan_of(workspace.pk) == default
    assert ent.allowance(workspace.pk, "agents").limit == 1
    # A subscription wins over the default plan.
    subscribe(workspace, plan_with(features, agents=7))
    assert ent.allowance(workspace.pk, "agents").limit == 7


def test_an_override_wins_over_the_plan_and_an_expired_one_is_ignored(workspace, features):
    subscribe(workspace, plan_with(features, agents=2, seats=3))
    EntitlementFactory(workspace=workspace, feature=features["agents"], limit=50)
    EntitlementFactory(workspace=workspace, feature=features["seats"], limit=99,
                       expires_at=timezone.now() - timedelta(minutes=1))
    values = ent.values(workspace.pk)
    assert (values["agents"].limit, values["agents"].source) == (50, "override")
    assert (values["seats"].limit, values["seats"].source) == (3, "plan")


def test_an_override_applies_without_any_plan(workspace, features):
    EntitlementFactory(workspace=workspace, feature=features["agents"], limit=0)
    with pytest.raises(ent.LimitReached):
        ent.require(workspace.pk, "agents")


def test_a_switch_the_plan_does_not_list_is_off(workspace, features):
    subscribe(workspace, plan_with(features, agents=5))
    assert not ent.enabled(workspace.pk, "knowledge_bases")
    with pytest.raises(ent.LimitReached) as refused:
        ent.require(workspace.pk, "knowledge_bases")
    assert (refused.value.status_code, refused.value.error_code) == (402, "feature_not_in_plan")
    assert refused.value.errors["feature"] == "knowledge_bases"


# --- periods and usage ------------------------------------------------------------------


def test_metered_usage_counts_within_the_subscription_period(workspace, features):
    start = timezone.now() - timedelta(days=3)
    subscribe(workspace, plan_with(features, executions_per_month=10))
    sub = ent.live_subscription(workspace.pk)
    sub.current_period_start, sub.current_period_end = start, start + timedelta(days=30)
    sub.save()
    executions(workspace, 4)
    executions(workspace, 5, when=start - timedelta(days=1))  # the previous period
    allowance = ent.allowance(workspace.pk, "executions_per_month")
    assert (allowance.limit, allowance.used, allowance.remaining) == (10, 4, 6)
    assert allowance.resets_at == start + timedelta(days=30)
    assert ent.period_of(workspace.pk) == (start, start + timedelta(days=30))


def test_without_subscription_the_period_is_the_utc_calendar_month(workspace):
    assert ent.period_of(workspace.pk, datetime(2026, 2, 14, 9, tzinfo=UTC)) == (
        datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    assert ent.period_of(workspace.pk, datetime(2026, 12, 31, 23, tzinfo=UTC)) == (
        datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_the_test_clock_decides_the_period(workspace, features):
    ClockFactory(workspace=workspace, frozen_time=datetime(2030, 5, 20, tzinfo=UTC))
    plan_with(features, is_default=True, executions_per_month=3)
    executions(workspace, 2, when=datetime(2030, 5, 2, tzinfo=UTC))
    executions(workspace, 9)  # now, outside the simulated month
    allowance = ent.allowance(workspace.pk, "executions_per_month")
    assert (allowance.used, allowance.resets_at) == (2, datetime(2030, 6, 1, tzinfo=UTC))


def test_gauges_count_live_rows(workspace, features):
    subscribe(workspace, plan_with(features, agents=3))
    AgentFactory.create_batch(2, workspace=workspace)
    AgentFactory(workspace=workspace, status="archived")
    assert ent.allowance(workspace.pk, "agents").used == 2


def test_gauges_of_several_apps_are_summed(workspace, features):
    calls = []
    ent.register_gauge("storage_bytes", lambda ws: calls.append(ws) or 0)
    try:
        assert ent.allowance(workspace.pk, "storage_bytes").used == 0
        assert calls == [workspace.pk]
    finally:
        ent._gauges["storage_bytes"].pop()
    assert len(ent._gauges["storage_bytes"]) == 2  # workspaces' files, agents' documents
    with pytest.raises(ValueError):
        ent.register_gauge("executions_per_month", lambda ws: 0)


# --- consume ----------------------------------------------------------------------------


def test_consume_refuses_past_the_limit_naming_every_number(workspace, features):
    subscribe(workspace, plan_with(features, executions_per_month=2))
    ent.consume(workspace.pk, "executions_per_month", 1, transaction_id="a")
    left = ent.consume(workspace.pk, "executions_per_month", 1, transaction_id="b")
    assert (left.used, left.remaining) == (2, 0)
    with pytest.raises(ent.LimitReached) as refused:
        ent.consume(workspace.pk, "executions_per_month", 1, transaction_id="c")
    error = refused.value
    assert (error.status_code, error.error_code) == (402, "limit_reached")
    assert {k: error.errors[k] for k in ("feature", "limit", "used", "requested")} == {
        "feature": "executions_per_month", "limit": 2, "used": 2, "requested": 1}
    assert error.errors["resets_at"] == ent.period_of(workspace.pk)[1].isoformat()
    for part in ("executions_per_month", "2 of 2", "1 more", "resets at"):
        assert part in error.message
    assert UsageRecord.objects.filter(workspace=workspace).count() == 2


def test_consume_is_idempotent_by_transaction_id(workspace, features):
    subscribe(workspace, plan_with(features, executions_per_month=1))
    ent.consume(workspace.pk, "executions_per_month", 1, transaction_id="same")
    again = ent.consume(workspace.pk, "executions_per_month", 1, transaction_id="same")
    assert again.used == 1
    assert UsageRecord.objects.filter(workspace=workspace).count() == 1


def test_consume_without_a_plan_records_usage_and_never_refuses(workspace):
    for n in range(3):
        ent.consume(workspace.pk, "executions_per_month", 1, transaction_id=f"x{n}")
    assert metering.total(workspace.pk, "executions", *ent.period_of(workspace.pk)) == 3


def test_raising_the_plan_lifts_the_limit_at_once(workspace, features):
    plan = plan_with(features, executions_per_month=1)
    subscribe(workspace, plan)
    ent.consume(workspace.pk, "executions_per_month", 1, transaction_id="1")
    with pytest.raises(ent.LimitReached):
        ent.consume(workspace.pk, "executions_per_month", 1, transaction_id="2")
    set_limit(plan, "executions_per_month", 2)
    ent.consume(workspace.pk, "executions_per_month", 1, transaction_id="2")


# --- the workspace's derived fields -------------------------------------------------------


def test_sync_workspace_writes_plan_limits_and_switches(workspace, features):
    plan = plan_with(features, executions_per_month=100, agents=3, knowledge_bases=True)
    subscribe(workspace, plan)
    ent.sync_workspace(workspace.pk)
    workspace.refresh_from_db()
    assert workspace.billing_plan == plan.code
    assert workspace.usage_limits == {"executions_per_month": 100, "agents": 3}
    rows = {f.key: f for f in WorkspaceFeature.objects.filter(workspace=workspace)}
    assert rows["knowledge_bases"].enabled and not rows["voice_calls"].enabled
    assert rows["voice_calls"].config == {"source": "plan"}


def test_sync_workspace_without_a_plan(workspace, features):
    ent.sync_workspace(workspace.pk)
    workspace.refresh_from_db()
    assert (workspace.billing_plan, workspace.usage_limits) == ("none", {})
    assert WorkspaceFeature.objects.get(workspace=workspace, key="voice_calls").enabled


def test_the_workspace_admin_shows_plan_and_limits_read_only(client, superuser, workspace,
                                                             features):
    subscribe(workspace, plan_with(features, agents=4))
    AgentFactory(workspace=workspace)
    client.force_login(superuser)
    page = client.get(f"/admin/workspaces/workspace/{workspace.pk}/change/").content.decode()
    assert 'name="billing_plan"' not in page and 'name="usage_limits"' not in page
    assert 'name="name"' in page
    assert "<tr><td>agents</td><td>4</td><td>1</td><td>3</td><td>—</td></tr>" in page


# --- the API ------------------------------------------------------------------------------


def _client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    return client


def test_the_api_lists_every_feature_for_a_member(workspace, features):
    member = MembershipFactory(workspace=workspace, role="viewer").user
    subscribe(workspace, plan_with(features, executions_per_month=10))
    executions(workspace, 3)
    body = _client(member).get(URL, {"workspace": workspace.pk}).json()
    rows = {row["feature"]: row for row in body["features"]}
    assert set(rows) == set(ent.FEATURES)
    assert {k: rows["executions_per_month"][k] for k in ("limit", "used", "remaining")} == {
        "limit": 10, "used": 3, "remaining": 7}
    assert rows["executions_per_month"]["resets_at"] is not None
    assert rows["seats"]["limit"] is None and rows["seats"]["used"] == 1


def test_the_api_hides_other_workspaces_and_keys_act_for_their_own(workspace, features):
    stranger = UserFactory()
    assert _client(stranger).get(URL, {"workspace": workspace.pk}).status_code == 404
    key = ApiKeyFactory(workspace=workspace, role="viewer")
    assert key_client(key.raw).get(URL, {"workspace": workspace.pk}).status_code == 200
    other = WorkspaceFactory()
    assert key_client(key.raw).get(URL, {"workspace": other.pk}).status_code == 404
    assert _client(stranger).get(URL, {"workspace": "x"}).status_code == 400
    assert _client(stranger).get(URL).status_code == 400


def test_the_api_needs_a_caller(anon_client, workspace):
    assert anon_client.get(URL, {"workspace": workspace.pk}).status_code in (401, 403)


def test_an_ended_subscription_no_longer_counts(workspace, features):
    SubscriptionFactory(workspace=workspace, plan=plan_with(features, agents=0),
                        status="ended")
    ent.require(workspace.pk, "agents")  # no live subscription, no default: unlimited

"""The usage read API (scoped like every workspace resource) and the usage summary per
billing period: totals per metric against the plan's included amount and limit, the
previous period, a subscription's own period, members only."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from billing import metering
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    PlanFactory,
    PlanFeatureFactory,
    SubscriptionFactory,
    UsageRecordFactory,
    WorkspaceFactory,
)
from tests.factories import TestClockFactory as ClockFactory

from .usage_support import SUMMARY_URL, client_for

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def at(day: int, month: int = 3, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def workspace(db):
    workspace = WorkspaceFactory(name="Acme")
    ClockFactory(workspace=workspace, frozen_time=NOW)  # billing's "now" for it
    return workspace


@pytest.fixture
def member(workspace):
    return client_for(MembershipFactory(workspace=workspace, role="viewer").user)


def _usage(workspace, metric: str, quantity: int, when: datetime, txn: str) -> None:
    assert metering.record(workspace_id=workspace.pk, metric=metric, quantity=quantity,
                           transaction_id=txn, occurred_at=when)


@pytest.fixture
def usage(workspace):
    _usage(workspace, "executions", 4, at(1, hour=0), "e1")
    _usage(workspace, "executions", 6, at(19), "e2")
    _usage(workspace, "executions", 30, at(19, hour=23), "e3")
    _usage(workspace, "tokens", 1500, at(5), "t1")
    _usage(workspace, "executions", 100, at(28, month=2), "old")  # previous month
    _usage(workspace, "executions", 1000, at(1, month=4), "next")  # next month
    _usage(WorkspaceFactory(), "executions", 999, at(10), "stranger")


def _metrics(body) -> dict:
    return {m["metric"]: m for m in body["metrics"]}


def test_summary_totals_the_calendar_month_without_a_plan(member, workspace, usage):
    response = member.get(SUMMARY_URL, {"workspace": workspace.pk})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["period"], body["start"], body["end"]) == (
        "current", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    metrics = _metrics(body)
    assert metrics["executions"]["used"] == 40 and metrics["tokens"]["used"] == 1500
    assert metrics["executions"]["limit"] is None and metrics["executions"]["included"] is None
    assert metrics["executions"]["overage"] == 0
    assert body["daily"] == [
        {"day": "2026-03-01", "metric": "executions", "quantity": 4},
        {"day": "2026-03-05", "metric": "tokens", "quantity": 1500},
        {"day": "2026-03-19", "metric": "executions", "quantity": 36}]


def test_summary_of_the_previous_period(member, workspace, usage):
    body = member.get(SUMMARY_URL, {"workspace": workspace.pk, "period": "previous"}).json()
    assert (body["start"], body["end"]) == ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")
    assert _metrics(body)["executions"]["used"] == 100
    assert _metrics(body)["tokens"]["used"] == 0


def test_summary_against_the_plan_included_limit_and_overage(member, workspace, usage,
                                                             features):
    plan = PlanFactory(is_default=True)
    PlanFeatureFactory(plan=plan, feature=features["executions_per_month"], limit=50,
                       included=25, overage_price=Decimal("2.5"))
    body = member.get(SUMMARY_URL, {"workspace": workspace.pk, "metric": "executions"}).json()
    assert [m["metric"] for m in body["metrics"]] == ["executions"]
    executions = body["metrics"][0]
    assert executions["feature"] == "executions_per_month"
    assert (executions["used"], executions["included"], executions["limit"],
            executions["remaining"], executions["overage"]) == (40, 25, 50, 10, 15)
    assert Decimal(str(executions["overage_amount"])) == Decimal("37.5")
    assert {d["metric"] for d in body["daily"]} == {"executions"}


def test_a_subscription_period_decides_what_counts(member, workspace, usage):
    SubscriptionFactory(workspace=workspace, plan=PlanFactory(),
                        started_at=at(15, month=2), current_period_start=at(15, month=2),
                        current_period_end=at(15, month=4), metadata={"anchor_day": 15})
    current = member.get(SUMMARY_URL, {"workspace": workspace.pk}).json()
    assert (current["start"], current["end"]) == ("2026-02-15T12:00:00Z",
                                                  "2026-04-15T12:00:00Z")
    assert _metrics(current)["executions"]["used"] == 4 + 6 + 30 + 100 + 1000
    previous = member.get(SUMMARY_URL, {"workspace": workspace.pk,
                                        "period": "previous"}).json()
    assert (previous["start"], previous["end"]) == ("2026-01-15T12:00:00Z",
                                                    "2026-02-15T12:00:00Z")


@pytest.mark.parametrize("query, field", [
    ({}, "workspace"), ({"workspace": "abc"}, "workspace"),
    ({"workspace": 1, "period": "next"}, "period"),
    ({"workspace": 1, "metric": "no spaces"}, "metric"),
])
def test_bad_parameters_are_structured_400s(member, workspace, query, field):
    response = member.get(SUMMARY_URL, query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_another_tenants_summary_is_refused_like_a_missing_one(member, usage):
    stranger = WorkspaceFactory()
    for pk in (stranger.pk, 999_999):
        response = member.get(SUMMARY_URL, {"workspace": pk})
        assert response.status_code == 400
        assert response.json()["errors"]["workspace"] == [
            f"No workspace with id {pk} of yours."]


def test_an_api_key_reads_its_own_workspace_summary(workspace, usage):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {ApiKeyFactory(workspace=workspace).raw}")
    body = client.get(SUMMARY_URL, {"workspace": workspace.pk}).json()
    assert _metrics(body)["executions"]["used"] == 40


def test_the_records_list_is_scoped_and_read_only(member, workspace):
    mine = UsageRecordFactory(workspace=workspace, transaction_id="mine")
    theirs = UsageRecordFactory(transaction_id="theirs")
    response = member.get("/api/v1/billing/usage/")
    assert response.status_code == 200
    assert [r["transaction_id"] for r in response.json()["results"]] == ["mine"]
    assert member.get(f"/api/v1/billing/usage/{mine.pk}/").json()["quantity"] == 1
    assert member.get(f"/api/v1/billing/usage/{theirs.pk}/").status_code == 404
    assert member.post("/api/v1/billing/usage/", {}, format="json").status_code == 405
    assert member.delete(f"/api/v1/billing/usage/{mine.pk}/").status_code == 405


def test_the_summary_needs_a_sign_in(workspace):
    assert APIClient().get(SUMMARY_URL, {"workspace": workspace.pk}).status_code == 401

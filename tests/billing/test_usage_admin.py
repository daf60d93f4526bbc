"""The usage admin: records read-only and scoped to the staff member's workspaces, and
the "usage per metric" page (totals against the plan, overage, usage per day)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import path

import billing.admin.usage  # noqa: F401  (registers the usage admin before the URLs below)
from billing import metering
from config.urls import urlpatterns as site_urls
from tests.factories import (
    MembershipFactory,
    PlanFactory,
    PlanFeatureFactory,
    UserFactory,
    WorkspaceFactory,
)
from tests.factories import TestClockFactory as ClockFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
urlpatterns = [path("admin/", admin.site.urls), *site_urls]
PAGE = "/admin/billing/usagerecord/per-metric/"


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def setup(client, features):
    ws = WorkspaceFactory(name="Acme")
    ClockFactory(workspace=ws, frozen_time=at(20))
    plan = PlanFactory(is_default=True)
    PlanFeatureFactory(plan=plan, feature=features["executions_per_month"], limit=500,
                       included=100, overage_price=Decimal("3"))
    for n, (qty, day) in enumerate(((60, 2), (70, 2), (25, 9))):
        metering.record(workspace_id=ws.pk, metric="executions", quantity=qty,
                        transaction_id=f"e{n}", occurred_at=at(day))
    metering.record(workspace_id=ws.pk, metric="tokens", quantity=4200,
                    transaction_id="t1", occurred_at=at(9))
    other = WorkspaceFactory(name="Secret tenant")
    metering.record(workspace_id=other.pk, metric="executions", quantity=1,
                    transaction_id="secret-txn", occurred_at=at(3))
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_usagerecord"))
    MembershipFactory(workspace=ws, user=user, role="member")
    client.force_login(user)
    return client, ws, other


def test_records_are_read_only_scoped_and_link_the_page(setup):
    client, _, _ = setup
    response = client.get("/admin/billing/usagerecord/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Usage per metric" in page and PAGE in page
    assert "e0" in page and "secret-txn" not in page
    assert client.get("/admin/billing/usagerecord/add/").status_code == 403


def test_usage_per_metric_page_shows_totals_overage_and_days(setup):
    client, ws, _ = setup
    response = client.get(PAGE, {"workspace": ws.pk, "period": "current"})
    assert response.status_code == 200
    summary = response.context["summary"]
    executions = {m.metric: m for m in summary.metrics}["executions"]
    assert (executions.used, executions.included, executions.limit, executions.overage,
            executions.overage_amount) == (155, 100, 500, 55, Decimal(165))
    assert response.context["daily_metrics"] == ["executions", "tokens"]
    assert [(day.isoformat(), values) for day, values in response.context["daily_rows"]] == [
        ("2026-03-02", [130, 0]), ("2026-03-09", [25, 4200])]
    page = response.content.decode()
    assert "2026-03-01 00:00 \u2013 2026-04-01 00:00 UTC" in page
    for text in ("<td>155</td>", "<td>100</td>", "<td>500</td>", "<td>55</td>", "<td>165</td>",
                 "<td>4200</td>", "unlimited", "2026-03-09"):
        assert text in page, text


def test_the_previous_period_is_empty_here(setup):
    client, ws, _ = setup
    response = client.get(PAGE, {"workspace": ws.pk, "period": "previous"})
    assert response.status_code == 200
    assert "2026-02-01 00:00 \u2013 2026-03-01 00:00 UTC" in response.content.decode()
    assert response.context["daily_rows"] == []


def test_another_tenants_workspace_is_not_shown(setup):
    client, _, other = setup
    response = client.get(PAGE, {"workspace": other.pk})
    assert response.status_code == 200
    assert response.context["summary"] is None
    assert f"No workspace with id {other.pk} of yours." in response.content.decode()


def test_the_page_needs_the_view_permission(client, db):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(PAGE).status_code == 403

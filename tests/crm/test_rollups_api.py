"""Call analytics through the API and the admin: the rolled-up rows of a period with
their totals, scoped to the caller's workspaces; the rows resource is read-only; the
admin chart page draws the period."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.contract.isolation import make_tenant
from tests.factories import AgentFactory
from tests.factories.crm_rollups import CallDailyMetricFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.crm.leads_urls")]
URL = "/api/v1/crm/analytics/calls/"


@pytest.fixture
def tenant():
    tenant = make_tenant()
    agent = AgentFactory(workspace=tenant.workspace, kind="voice")
    CallDailyMetricFactory(workspace=tenant.workspace, agent=agent, day=date(2026, 5, 1),
                           calls=10, connected=6, avg_duration_seconds=Decimal("100"),
                           cost=Decimal("1.5"), credits=Decimal("60"), conversions=1)
    CallDailyMetricFactory(workspace=tenant.workspace, agent=None, day=date(2026, 5, 2),
                           calls=5, connected=1, avg_duration_seconds=Decimal("40"),
                           cost=Decimal("0.5"), credits=Decimal("10"), conversions=0)
    CallDailyMetricFactory(workspace=tenant.workspace, agent=agent, day=date(2026, 6, 1))
    tenant.agent = agent
    return tenant


def test_rows_and_totals_of_a_period(tenant):
    other = make_tenant()
    CallDailyMetricFactory(workspace=other.workspace, day=date(2026, 5, 1), calls=99)
    response = tenant.clients["viewer"].get(URL, {"from": "2026-05-01", "to": "2026-05-31"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["from"], body["to"]) == ("2026-05-01", "2026-05-31")
    assert [(r["day"], r["calls"]) for r in body["rows"]] == [("2026-05-01", 10),
                                                               ("2026-05-02", 5)]
    assert body["rows"][0]["connect_rate"] == "0.6000"
    totals = body["totals"]
    assert (totals["calls"], totals["connected"], totals["connect_rate"],
            totals["avg_duration_seconds"], totals["cost"], totals["credits"],
            totals["conversions"]) == (15, 7, "0.4667", "91.43", "2.0000", "70.0000", 1)
    only_agent = tenant.clients["viewer"].get(URL, {"from": "2026-05-01", "to": "2026-06-30",
                                                    "agent": tenant.agent.pk}).json()
    assert [r["day"] for r in only_agent["rows"]] == ["2026-05-01", "2026-06-01"]


def test_bad_parameters_are_400_and_another_workspace_404(tenant):
    client = tenant.clients["member"]
    bad_day = client.get(URL, {"from": "May 1st"})
    assert bad_day.status_code == 400 and "from" in bad_day.json()["errors"]
    backwards = client.get(URL, {"from": "2026-05-02", "to": "2026-05-01"})
    assert backwards.status_code == 400
    other = make_tenant()
    assert client.get(URL, {"workspace": other.workspace.pk}).status_code == 404
    assert client.get(URL, {"workspace": tenant.workspace.pk, "from": "2026-05-01"}) \
        .json()["totals"]["calls"] == 25


def test_the_rows_resource_reads_only_its_workspace(tenant):
    other = make_tenant()
    listed = other.clients["owner"].get("/api/v1/crm/call-metrics/")
    assert listed.status_code == 200 and listed.json()["results"] == []
    mine = tenant.clients["viewer"].get("/api/v1/crm/call-metrics/").json()["results"]
    assert len(mine) == 3
    write = tenant.clients["owner"].post("/api/v1/crm/call-metrics/", {
        "workspace": tenant.workspace.pk, "day": "2026-07-01"}, format="json")
    assert write.status_code == 405


def test_the_admin_chart_page(staff_client, tenant):
    url = reverse("admin:crm_calldailymetric_chart")
    page = staff_client.get(url, {"start": "2026-05-01", "end": "2026-05-31",
                                  "workspace": tenant.workspace.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "Calls per day" in html
    assert "15 calls, 7 connected" in html
    assert "(no agent)" in html
    empty = staff_client.get(url, {"start": "2020-01-01", "end": "2020-01-31"})
    assert "No calls rolled up in this period." in empty.content.decode()
    listing = staff_client.get(reverse("admin:crm_calldailymetric_changelist"))
    assert listing.status_code == 200 and url in listing.content.decode()

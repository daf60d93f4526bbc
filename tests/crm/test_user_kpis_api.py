"""User KPIs through the API and the admin: a read-only resource scoped to the caller's
workspace, filtered by day and user; the admin's chart page sums a period per day and
per user."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.contract.isolation import make_tenant
from tests.factories import MembershipFactory
from tests.factories.crm_kpis import UserDailyKpiFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/crm/user-kpis/"


@pytest.fixture
def tenant():
    tenant = make_tenant()
    ana = MembershipFactory(workspace=tenant.workspace, role="member").user
    UserDailyKpiFactory(workspace=tenant.workspace, user=ana, day=date(2026, 5, 1),
                        calls=10, connected=6, talk_time_seconds=600, conversions=1,
                        follow_ups_done=2, follow_ups_overdue=1, cost=Decimal("1.5"),
                        credits=Decimal("60"))
    UserDailyKpiFactory(workspace=tenant.workspace, user=None, day=date(2026, 5, 2),
                        calls=5, connected=1, talk_time_seconds=40, conversions=0,
                        follow_ups_done=0, follow_ups_overdue=3, cost=Decimal("0.5"),
                        credits=Decimal("10"))
    UserDailyKpiFactory(workspace=tenant.workspace, user=ana, day=date(2026, 6, 1))
    tenant.ana = ana
    return tenant


def test_the_resource_lists_its_workspaces_rows_by_day_and_user(tenant):
    other = make_tenant()
    UserDailyKpiFactory(workspace=other.workspace, day=date(2026, 5, 1), calls=99)
    client = tenant.clients["viewer"]
    rows = client.get(URL, {"day__gte": "2026-05-01", "day__lte": "2026-05-31",
                            "ordering": "day"}).json()["results"]
    assert [(r["day"], r["user"], r["calls"]) for r in rows] == [
        ("2026-05-01", tenant.ana.pk, 10), ("2026-05-02", None, 5)]
    assert rows[0]["connect_rate"] == "0.6000" and rows[1]["follow_ups_overdue"] == 3
    anas = client.get(URL, {"user": tenant.ana.pk}).json()["results"]
    assert sorted(r["day"] for r in anas) == ["2026-05-01", "2026-06-01"]
    assert other.clients["owner"].get(URL).json()["results"] != []
    assert all(r["calls"] == 99 for r in other.clients["owner"].get(URL).json()["results"])
    theirs = other.clients["owner"].get(f"{URL}{rows[0]['id']}/")
    assert theirs.status_code == 404


def test_the_resource_is_read_only(tenant):
    write = tenant.clients["owner"].post(URL, {"workspace": tenant.workspace.pk,
                                               "day": "2026-07-01"}, format="json")
    assert write.status_code == 405
    row = tenant.clients["owner"].get(URL).json()["results"][0]
    assert tenant.clients["owner"].delete(f"{URL}{row['id']}/").status_code == 405


def test_the_admin_chart_page(staff_client, tenant):
    url = reverse("admin:crm_userdailykpi_chart")
    page = staff_client.get(url, {"start": "2026-05-01", "end": "2026-05-31",
                                  "workspace": tenant.workspace.pk})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "User KPIs" in html
    assert "15 calls, 7 connected" in html and "talk time 640 s" in html
    assert "follow-ups 2 done and\n4 overdue" in html
    assert "(nobody)" in html and str(tenant.ana) in html
    empty = staff_client.get(url, {"start": "2020-01-01", "end": "2020-01-31"})
    assert "No user KPIs rolled up in this period." in empty.content.decode()
    listing = staff_client.get(reverse("admin:crm_userdailykpi_changelist"))
    assert listing.status_code == 200 and url in listing.content.decode()


def test_the_call_metrics_chart_still_draws_per_agent(staff_client):
    from tests.factories import AgentFactory
    from tests.factories.crm_rollups import CallDailyMetricFactory

    agent = AgentFactory(kind="voice", name="Sales line")
    CallDailyMetricFactory(workspace=agent.workspace, agent=agent, day=date(2026, 5, 1))
    page = staff_client.get(reverse("admin:crm_calldailymetric_chart"),
                            {"start": "2026-05-01", "end": "2026-05-31"})
    html = page.content.decode()
    assert page.status_code == 200 and "Calls per day" in html and "Sales line" in html

"""Dashboards through the service, the API and the admin: a widget's numbers equal the
aggregate written in SQL for the same filters, every widget comes back in order, the API
is scoped to the caller's workspace, bad parameters are 400s, and the admin draws the
charts."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.urls import reverse

from analytics.models import Metric
from analytics.services.dashboards import dashboard_data
from tests.contract.isolation import make_tenant
from tests.factories import WorkspaceFactory
from tests.factories.analytics_dashboards import (
    BusinessMetricFactory,
    DashboardFactory,
    DashboardWidgetFactory,
    MetricFactory,
    UserBehaviorMetricFactory,
    UserInsightFactory,
    make_events,
)

pytestmark = pytest.mark.django_db
START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC)
API = "/api/v1/analytics"


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def seed(workspace):
    rows = [{"timestamp": at(1 + n % 5, n % 24), "distinct_id": f"p{n % 7}",
             "properties": {"plan": ["pro", "free", "team"][n % 3], "price": n % 13}}
            for n in range(45)]
    make_events(workspace, *rows)


@pytest.fixture
def tenant():
    tenant = make_tenant()
    seed(tenant.workspace)
    pro = [{"property": "plan", "op": "eq", "value": "pro"}]
    dashboard = DashboardFactory(workspace=tenant.workspace, name="Growth", range_days=7)
    for position, (chart, fields, breakdown) in enumerate([
            ("line", {"kind": "count", "filters": pro}, ""),
            ("bar", {"kind": "unique"}, ""),
            ("line", {"kind": "sum", "property": "price"}, "plan"),
            ("number", {"kind": "percentile", "property": "price", "percentile": 95}, ""),
            ("table", {"kind": "average", "property": "price"}, "")]):
        DashboardWidgetFactory(workspace=tenant.workspace, dashboard=dashboard, chart=chart,
                               metric=MetricFactory(workspace=tenant.workspace, **fields),
                               breakdown_property=breakdown, position=position)
    tenant.dashboard = dashboard
    return tenant


@pytest.mark.postgres
def test_a_widget_equals_the_sql_aggregate_for_the_same_filters(tenant):
    data = dashboard_data(tenant.dashboard, start=START, end=END)
    assert [w["chart"] for w in data["widgets"]] == ["line", "bar", "line", "number", "table"]
    pro_count = data["widgets"][0]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_trunc('day', timestamp AT TIME ZONE 'UTC'), count(*) "
            "FROM analytics_event WHERE workspace_id = %s AND name = 'pageview' "
            "AND timestamp >= %s AND timestamp < %s AND properties -> 'plan' = '\"pro\"' "
            "GROUP BY 1", [tenant.workspace.pk, START, END])
        expected = {day.date().isoformat(): n for day, n in cursor.fetchall()}
        cursor.execute(
            "SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY (properties ->> 'price')"
            "::float8) FROM analytics_event WHERE workspace_id = %s AND name = 'pageview' "
            "AND timestamp >= %s AND timestamp < %s", [tenant.workspace.pk, START, END])
        p95 = cursor.fetchone()[0]
    got = {p["bucket"][:10]: p["value"] for p in pro_count["series"][0]["points"] if p["value"]}
    assert got == expected and pro_count["total"] == sum(expected.values())
    assert data["widgets"][3]["total"] == pytest.approx(p95)
    labels = [s["label"] for s in data["widgets"][2]["series"]]
    assert labels == ["free", "pro", "team"]  # 15 events each: a tie goes by name


def test_dashboard_defaults_to_its_range_and_a_broken_metric_does_not_fail_it(tenant):
    broken = MetricFactory(workspace=tenant.workspace, kind="count")
    Metric.objects.filter(pk=broken.pk).update(kind="sum", property="")  # saved around rules
    DashboardWidgetFactory(workspace=tenant.workspace, dashboard=tenant.dashboard,
                           metric=broken, position=99)
    data = dashboard_data(tenant.dashboard)
    assert len(data["widgets"][0]["series"][0]["points"]) == 7
    assert data["to"].endswith("T00:00:00+00:00")
    assert "property" in data["widgets"][-1]["error"]


def test_the_api_serves_series_and_dashboard_data(tenant):
    client = tenant.clients["viewer"]
    metric = tenant.dashboard.widgets.get(position=0).metric
    series = client.get(f"{API}/metrics/{metric.pk}/series/",
                        {"from": "2026-03-01", "to": "2026-03-07", "tz": "Europe/Lisbon"})
    assert series.status_code == 200, series.content
    body = series.json()
    assert len(body["series"][0]["points"]) == 7 and body["total"] == 15
    by_plan = client.get(f"{API}/metrics/{metric.pk}/series/",
                         {"from": "2026-03-01", "to": "2026-03-07", "interval": "week",
                          "breakdown": "price", "breakdown_limit": "2"}).json()
    assert len(by_plan["series"]) == 2
    data = client.get(f"{API}/dashboards/{tenant.dashboard.pk}/data/",
                      {"from": "2026-03-01T00:00:00Z", "to": "2026-03-08T00:00:00Z"})
    assert data.status_code == 200
    assert data.json()["widgets"][0]["total"] == 15


@pytest.mark.parametrize("params, field", [
    ({"from": "2026-03-01"}, "to"),
    ({"from": "yesterday", "to": "2026-03-02"}, "from"),
    ({"from": "2026-03-01", "to": "2026-02-30"}, "to"),
    ({"from": "2026-03-05", "to": "2026-03-01"}, "from"),
    ({"from": "2026-03-01", "to": "2026-03-02", "interval": "fortnight"}, "interval"),
    ({"from": "2026-03-01", "to": "2026-03-02", "tz": "Nowhere/Town"}, "tz"),
    ({"from": "2026-03-01", "to": "2026-03-02", "breakdown_limit": "many"}, "breakdown_limit"),
    ({"from": "2026-03-01", "to": "2026-03-02", "breakdown": "plan",
      "breakdown_limit": "99"}, "breakdown_limit"),
    ({"from": "2000-01-01", "to": "2026-03-02", "interval": "hour"}, "interval"),
])
def test_bad_series_parameters_are_a_structured_400(tenant, params, field):
    metric = tenant.dashboard.widgets.first().metric
    response = tenant.clients["viewer"].get(f"{API}/metrics/{metric.pk}/series/", params)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    bad_data = tenant.clients["viewer"].get(f"{API}/dashboards/{tenant.dashboard.pk}/data/",
                                            {"tz": "Nowhere/Town"})
    assert bad_data.status_code == 400 and "tz" in bad_data.json()["errors"]


def test_metrics_are_checked_on_write_and_scoped(tenant):
    client = tenant.clients["member"]
    refused = client.post(f"{API}/metrics/", {
        "workspace": tenant.workspace.pk, "name": "Revenue", "event_name": "paid",
        "kind": "percentile", "property": "amount",
        "filters": [{"property": "amount", "op": "gt", "value": "a lot"}]}, format="json")
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"percentile", "filters"}
    made = client.post(f"{API}/metrics/", {
        "workspace": tenant.workspace.pk, "name": "Revenue", "event_name": "paid",
        "kind": "sum", "property": "amount"}, format="json")
    assert made.status_code == 201, made.content
    emptied = client.patch(f"{API}/metrics/{made.json()['id']}/", {"property": ""},
                           format="json")
    assert emptied.status_code == 400 and "property" in emptied.json()["errors"]
    other = make_tenant()
    assert other.clients["owner"].get(f"{API}/metrics/{made.json()['id']}/series/", {
        "from": "2026-03-01", "to": "2026-03-02"}).status_code == 404
    assert other.clients["owner"].get(
        f"{API}/dashboards/{tenant.dashboard.pk}/data/").status_code == 404
    foreign = MetricFactory(workspace=other.workspace)
    widget = client.post(f"{API}/dashboard-widgets/", {
        "workspace": tenant.workspace.pk, "dashboard": tenant.dashboard.pk,
        "metric": foreign.pk}, format="json")
    assert widget.status_code == 400 and "metric" in widget.json()["errors"]


def test_dashboards_record_their_author_and_rollups_are_read_only(tenant):
    made = tenant.clients["member"].post(f"{API}/dashboards/", {
        "workspace": tenant.workspace.pk, "name": "Ops"}, format="json")
    assert made.status_code == 201 and made.json()["created_by"] is not None
    BusinessMetricFactory(workspace=tenant.workspace)
    BusinessMetricFactory(workspace=WorkspaceFactory())
    UserBehaviorMetricFactory(workspace=tenant.workspace)
    UserInsightFactory(workspace=tenant.workspace)
    client = tenant.clients["viewer"]
    for path in ("business-metrics", "behavior", "insights"):
        listed = client.get(f"{API}/{path}/")
        assert listed.status_code == 200 and len(listed.json()["results"]) == 1
        assert tenant.clients["owner"].post(f"{API}/{path}/", {}, format="json") \
            .status_code == 405


def test_the_admin_draws_every_widget(staff_client, tenant):
    url = reverse("admin:analytics_dashboard_charts", args=[tenant.dashboard.pk])
    page = staff_client.get(url, {"from": "2026-03-01", "to": "2026-03-07"})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<div class="chart"><svg') == 3  # two lines and the bars
    assert 'class="dashboard-number"' in html and "<table>" in html
    bad = staff_client.get(url, {"from": "soon"})
    assert bad.status_code == 200 and "errornote" in bad.content.decode()
    change = staff_client.get(reverse("admin:analytics_dashboard_change",
                                      args=[tenant.dashboard.pk]))
    assert url in change.content.decode()


def test_the_admin_metric_form_applies_the_metric_rule(staff_client):
    workspace = WorkspaceFactory()
    response = staff_client.post(reverse("admin:analytics_metric_add"), {
        "workspace": workspace.pk, "name": "Median", "event_name": "paid",
        "kind": "percentile", "property": "", "filters": "[]"}, format="multipart")
    assert response.status_code == 200
    assert "needs the numeric property" in str(response.context["adminform"].form.errors)
    assert not Metric.objects.filter(name="Median").exists()


def test_every_admin_page_of_these_models_opens(staff_client, tenant):
    BusinessMetricFactory(workspace=tenant.workspace)
    UserBehaviorMetricFactory(workspace=tenant.workspace)
    UserInsightFactory(workspace=tenant.workspace)
    for model in ("metric", "dashboard", "dashboardwidget", "export", "businessmetric",
                  "userbehaviormetric", "userinsight"):
        listing = staff_client.get(reverse(f"admin:analytics_{model}_changelist"))
        assert listing.status_code == 200, model
    for model in ("metric", "dashboard", "dashboardwidget", "export"):
        assert staff_client.get(reverse(f"admin:analytics_{model}_add")).status_code == 200
    widget = tenant.dashboard.widgets.first()
    assert staff_client.get(reverse("admin:analytics_dashboardwidget_change",
                                    args=[widget.pk])).status_code == 200

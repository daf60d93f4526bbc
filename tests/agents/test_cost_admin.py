"""The usage admin: read-only logs and rollups, the cost intelligence page (totals equal
to the logs the staff member may see, a chart, the forecast, the drivers) and the
playground form's refusals."""

from decimal import Decimal as D

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import path
from django.utils import timezone

import agents.admin.usage  # noqa: F401  (registers the usage admins before the URLs below)
from config.urls import urlpatterns as site_urls
from tests.factories import MembershipFactory, UserFactory
from tests.factories.agents import AgentFactory, LLMModelFactory, LLMUsageLogFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
urlpatterns = [path("admin/", admin.site.urls), *site_urls]


@pytest.fixture
def staff(client):
    agent = AgentFactory(name="Alpha")
    ws = agent.workspace
    LLMUsageLogFactory(workspace=ws, agent=agent, cost=D("1.25"), created_at=timezone.now())
    LLMUsageLogFactory(workspace=ws, cost=D("0.50"), created_at=timezone.now())
    other = AgentFactory(name="Secret project")
    LLMUsageLogFactory(workspace=other.workspace, agent=other, cost=D("99"),
                       created_at=timezone.now())
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_llmusagelog", "view_agentusagemetric"]))
    MembershipFactory(workspace=ws, user=user, role="member")
    client.force_login(user)
    return client, ws


def test_the_log_is_read_only_and_scoped(staff):
    client, _ = staff
    response = client.get("/admin/agents/llmusagelog/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Cost intelligence" in page and "Playground" in page
    assert "Secret project" not in page
    assert client.get("/admin/agents/llmusagelog/add/").status_code == 403
    assert client.get("/admin/agents/agentusagemetric/").status_code == 200


def test_cost_page_totals_chart_forecast_and_drivers(staff):
    client, _ = staff
    response = client.get("/admin/agents/llmusagelog/cost/", {"group_by": "agent"})
    assert response.status_code == 200
    result = response.context["result"]
    assert [(t["currency"], t["cost"]) for t in result["totals"]] == [("USD", D("1.75"))]
    assert [(r["label"], r["cost"]) for r in result["rows"]] == [
        ("Alpha", D("1.25")), ("(no agent)", D("0.50"))]
    page = response.content.decode()
    assert "<svg" in page and "Cost by day" in page
    assert "Projected month-end total" in page
    assert response.context["drivers"]["total"] == D("1.75")
    assert "Secret project" not in page and "99.0000" not in page


def test_cost_page_refuses_reversed_dates(staff):
    client, _ = staff
    response = client.get("/admin/agents/llmusagelog/cost/",
                          {"date_from": "2026-03-10", "date_to": "2026-03-01"})
    assert response.status_code == 200
    assert response.context["result"] is None
    assert "must be on or before" in response.content.decode()


def test_playground_offers_only_usable_models_and_names_template_errors(staff):
    client, ws = staff
    mine = LLMModelFactory(workspace=ws, display_name="Mine small")
    LLMModelFactory(display_name="Someone else's")
    response = client.get("/admin/agents/llmusagelog/playground/")
    page = response.content.decode()
    assert response.status_code == 200 and "Mine small" in page
    assert "Someone else" not in page
    response = client.post("/admin/agents/llmusagelog/playground/", {
        "model": mine.pk, "template": "Hello {{ nmae }}", "variables": '{"name": "Ada"}'})
    assert response.status_code == 200
    assert "unknown variable &#x27;nmae&#x27; (there are: name)" in response.content.decode()
    response = client.post("/admin/agents/llmusagelog/playground/", {
        "model": mine.pk, "template": "Hello", "variables": "[1, 2]"})
    assert "Variables must be a JSON object." in response.content.decode()


def test_pages_need_the_view_permission(client):
    user = UserFactory(is_staff=True)
    client.force_login(user)
    assert client.get("/admin/agents/llmusagelog/cost/").status_code == 403
    assert client.get("/admin/agents/llmusagelog/playground/").status_code == 403

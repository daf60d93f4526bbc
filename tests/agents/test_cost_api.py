"""The cost API: sums equal the usage logs the caller may see; bad parameters and other
workspaces' ids are structured 400s; the forecast and drivers answer in their shape."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db.models import Sum
from django.urls import include, path
from django.utils import timezone
from rest_framework.test import APIClient

from agents.api import cost as cost_api
from agents.models import LLMUsageLog
from config.urls import urlpatterns as site_urls
from tests.factories import MembershipFactory
from tests.factories.agents import AgentFactory, LLMUsageLogFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
urlpatterns = [path("api/v1/", include(cost_api.urlpatterns)), *site_urls]


@pytest.fixture
def setup():
    agent = AgentFactory(name="Alpha")
    ws = agent.workspace
    now = timezone.now()
    for back, amount in ((0, "1.50"), (1, "2.25"), (3, "0.25")):
        LLMUsageLogFactory(workspace=ws, agent=agent, cost=D(amount),
                           created_at=now - timedelta(days=back))
    LLMUsageLogFactory(workspace=ws, cost=D("4.00"), created_at=now)
    stranger = AgentFactory(name="Other")
    LLMUsageLogFactory(workspace=stranger.workspace, agent=stranger, cost=D("99"),
                       created_at=now)
    client = APIClient()
    client.force_login(MembershipFactory(workspace=ws, role="viewer").user)
    return client, agent, stranger


def test_cost_by_agent_equals_the_usage_logs(setup):
    client, agent, _ = setup
    response = client.get("/api/v1/agents/cost/", {"group_by": "agent"})
    assert response.status_code == 200, response.content
    body = response.json()
    expected = LLMUsageLog.objects.filter(workspace=agent.workspace).aggregate(s=Sum("cost"))
    assert sum(D(str(r["cost"])) for r in body["rows"]) == expected["s"] == D("8.00")
    assert sorted((r["label"], r["key"], D(str(r["cost"]))) for r in body["rows"]) == [
        ("(no agent)", None, D("4.00")), ("Alpha", agent.pk, D("4.00"))]
    assert [(t["currency"], t["calls"]) for t in body["totals"]] == [("USD", 4)]


def test_cost_by_day_filtered_by_agent(setup):
    client, agent, _ = setup
    body = client.get("/api/v1/agents/cost/", {"agent": agent.pk}).json()
    assert body["group_by"] == "day"
    assert [D(str(r["cost"])) for r in body["rows"]] == [D("0.25"), D("2.25"), D("1.50")]


@pytest.mark.parametrize("query, field", [
    ({"group_by": "colour"}, "group_by"),
    ({"from": "2026-03-10", "to": "2026-03-01"}, "from"),
    ({"from": "yesterday"}, "from"),
    ({"agent": "abc"}, "agent"),
    ({"currency": "dollars"}, "currency"),
])
def test_bad_parameters_are_structured_400s(setup, query, field):
    client, _, _ = setup
    response = client.get("/api/v1/agents/cost/", query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_another_workspaces_ids_are_refused(setup):
    client, _, stranger = setup
    for url in ("/api/v1/agents/cost/", "/api/v1/agents/cost/forecast/",
                "/api/v1/agents/cost/drivers/"):
        response = client.get(url, {"agent": stranger.pk})
        assert response.status_code == 400, url
        assert response.json()["errors"]["agent"] == [
            f"No agent with id {stranger.pk} in your workspaces."]
        response = client.get(url, {"workspace": stranger.workspace_id})
        assert response.status_code == 400 and "workspace" in response.json()["errors"]


def test_forecast_and_drivers(setup):
    client = setup[0]
    body = client.get("/api/v1/agents/cost/forecast/").json()
    assert body["currency"] == "USD"
    assert D(str(body["projected"])) >= D(str(body["to_date"])) > 0
    assert len(body["daily"]) >= 1 and body["method"] in ("ses", "seasonal_naive")
    drivers = client.get("/api/v1/agents/cost/drivers/").json()
    assert D(str(drivers["total"])) == D("8.00")
    assert sorted(D(str(r["share"])) for r in drivers["agents"]) == [D("50.00"), D("50.00")]


def test_anonymous_callers_are_refused():
    response = APIClient().get("/api/v1/agents/cost/")
    assert response.status_code in (401, 403)


def test_an_api_key_sees_its_own_workspace_only(setup):
    from tests.contract.isolation import key_client
    from tests.factories.workspaces import ApiKeyFactory

    _, agent, stranger = setup
    client = key_client(ApiKeyFactory(workspace=agent.workspace, role="viewer").raw)
    body = client.get("/api/v1/agents/cost/", {"group_by": "workspace"}).json()
    assert [(r["key"], D(str(r["cost"]))) for r in body["rows"]] == [
        (agent.workspace_id, D("8.00"))]
    response = client.get("/api/v1/agents/cost/", {"workspace": stranger.workspace_id})
    assert response.status_code == 400

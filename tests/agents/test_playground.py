"""The prompt playground against the fake LLM server: the rendered template reaches the
model, answers come back with tokens and cost, every call is a playground usage log, two
models answer side by side, and bad input or someone else's model is a structured 400."""

from decimal import Decimal as D

import pytest
from django.contrib import admin
from django.urls import include, path
from rest_framework.test import APIClient

import agents.admin.usage  # noqa: F401  (registers the usage admins before the URLs below)
from agents.api import playground as playground_api
from agents.models import LLMUsageLog
from config.urls import urlpatterns as site_urls
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
urlpatterns = [path("api/v1/", include(playground_api.urlpatterns)),
               path("admin/", admin.site.urls), *site_urls]
RUN, COMPARE = "/api/v1/agents/playground/run/", "/api/v1/agents/playground/compare/"


@pytest.fixture
def ws():
    return WorkspaceFactory()


@pytest.fixture
def member(ws):
    return MembershipFactory(workspace=ws, role="member").user


@pytest.fixture
def api(member):
    client = APIClient()
    client.force_login(member)
    return client


def test_run_renders_the_template_and_records_the_call(api, member, ws, llm_server,
                                                       make_llm_model):
    model = make_llm_model(ws, name="small")
    # $1 in / $2 out per million: 1000 in + 500 out = 0.001 + 0.001
    llm_server.script([{"text": "Bonjour Ada!", "usage": {"input": 1000, "output": 500}}])
    response = api.post(RUN, {"model": model.pk, "template": "Greet {{ name }} in {{ lang }}.",
                              "variables": {"name": "Ada", "lang": "French"},
                              "system": "Be brief.", "max_tokens": 50},
                        format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["prompt"] == "Greet Ada in French."
    [answer] = body["answers"]
    assert (answer["ok"], answer["text"], answer["tokens_in"], answer["tokens_out"]) == (
        True, "Bonjour Ada!", 1000, 500)
    assert D(str(answer["cost"])) == D("0.002")
    log = LLMUsageLog.objects.get(pk=answer["usage_log_id"])
    assert (log.source, log.workspace_id, log.model_id, log.user_id, log.cost) == (
        "playground", ws.pk, model.pk, member.pk, D("0.002"))
    sent = llm_server.requests[-1]["json"]
    assert sent["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Greet Ada in French."}]
    assert sent["max_tokens"] == 50 or sent.get("max_completion_tokens") == 50


def test_the_system_prompt_is_a_template_too(api, ws, llm_server, make_llm_model):
    model = make_llm_model(ws)
    response = api.post(RUN, {"model": model.pk, "template": "Hi", "system": "Be {{ tone }}.",
                              "variables": {"tone": "brief"}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["system"] == "Be brief."
    assert llm_server.requests[-1]["json"]["messages"][0] == {"role": "system",
                                                              "content": "Be brief."}


def test_compare_sends_the_same_input_to_both_models(api, ws, llm_server, make_llm_model):
    small, large = make_llm_model(ws, name="small"), make_llm_model(ws, name="large")
    llm_server.script([{"text": "short", "usage": {"input": 10, "output": 1}},
                       {"text": "a longer answer", "usage": {"input": 10, "output": 3}}])
    response = api.post(COMPARE, {"models": [small.pk, large.pk],
                                  "template": "Explain {{ topic }}",
                                  "variables": {"topic": "tides"}}, format="json")
    assert response.status_code == 200, response.content
    answers = response.json()["answers"]
    assert [(a["model_name"], a["text"], a["tokens_out"]) for a in answers] == [
        ("small", "short", 1), ("large", "a longer answer", 3)]
    bodies = [r["json"] for r in llm_server.requests[-2:]]
    assert [b["model"] for b in bodies] == ["small", "large"]
    assert bodies[0]["messages"] == bodies[1]["messages"] == [
        {"role": "user", "content": "Explain tides"}]
    assert LLMUsageLog.objects.filter(source="playground", workspace=ws).count() == 2


def test_one_side_failing_does_not_hide_the_other(api, ws, llm_server, make_llm_model):
    broken, fine = make_llm_model(ws, name="broken"), make_llm_model(ws, name="fine")
    llm_server.script([{"status": 500}, {"text": "still here"}])
    response = api.post(COMPARE, {"models": [broken.pk, fine.pk], "template": "Hi"},
                        format="json")
    assert response.status_code == 200, response.content
    first, second = response.json()["answers"]
    assert first["ok"] is False and first["error"]["code"] == "provider_error"
    assert first["error"]["status"] == 502
    assert second["ok"] is True and second["text"] == "still here"
    statuses = sorted(LLMUsageLog.objects.filter(workspace=ws).values_list("status",
                                                                            flat=True))
    assert statuses == ["error", "ok"]


def test_run_failure_is_a_structured_502_and_is_recorded(api, ws, llm_server,
                                                         make_llm_model):
    model = make_llm_model(ws)
    llm_server.script([{"status": 500}])
    response = api.post(RUN, {"model": model.pk, "template": "Hi"}, format="json")
    assert response.status_code == 502
    assert response.json()["code"] == "provider_error"
    assert LLMUsageLog.objects.get(workspace=ws).status == "error"


@pytest.mark.parametrize("body, code, field", [
    ({"template": "Hi {{ nmae }}", "variables": {"name": "Ada"}}, "template_error",
     "template"),
    ({"template": "Hi {{ name", "variables": {"name": "Ada"}}, "template_error", "template"),
    ({"template": "{{ ''.__class__ }}"}, "template_error", "template"),
    ({"template": "Hi", "variables": ["a"]}, "invalid", "variables"),
    ({"template": ""}, "invalid", "template"),
    ({"template": "Hi", "temperature": 7}, "invalid", "temperature"),
])
def test_bad_input_is_a_structured_400(api, ws, llm_server, make_llm_model, body, code,
                                       field):
    model = make_llm_model(ws)
    response = api.post(RUN, {"model": model.pk, **body}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code and field in response.json()["errors"]
    assert llm_server.requests == []


def test_models_out_of_reach_are_refused(api, ws, make_llm_model, llm_server):
    foreign = make_llm_model(WorkspaceFactory())
    response = api.post(RUN, {"model": foreign.pk, "template": "Hi"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["model"] == [
        f"No chat model with id {foreign.pk} in your workspaces."]
    embedder = make_llm_model(ws, model_kind="embedding")
    mine = make_llm_model(ws)
    response = api.post(COMPARE, {"models": [mine.pk, embedder.pk], "template": "Hi"},
                        format="json")
    assert response.status_code == 400 and "models" in response.json()["errors"]
    viewer = APIClient()
    viewer.force_login(MembershipFactory(workspace=ws, role="viewer").user)
    response = viewer.post(RUN, {"model": mine.pk, "template": "Hi"}, format="json")
    assert response.status_code == 400
    assert "member role" in response.json()["errors"]["model"][0]
    assert llm_server.requests == []


def test_admin_playground_shows_answers_side_by_side(client, ws, llm_server,
                                                     make_llm_model):
    from django.contrib.auth.models import Permission

    a, b = make_llm_model(ws, name="alpha"), make_llm_model(ws, name="beta")
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_llmusagelog"))
    MembershipFactory(workspace=ws, user=user, role="member")
    client.force_login(user)
    llm_server.script([{"text": "from alpha", "usage": {"input": 1000, "output": 0}},
                       {"text": "from beta", "usage": {"input": 0, "output": 1000}}])
    response = client.post("/admin/agents/llmusagelog/playground/", {
        "model": a.pk, "compare_with": b.pk, "template": "Hello {{ who }}",
        "variables": '{"who": "world"}'})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hello world" in page and "from alpha" in page and "from beta" in page
    assert "0.001000 USD" in page and "0.002000 USD" in page


def test_an_exhausted_quota_refuses_before_any_call(api, ws, llm_server, make_llm_model):
    from tests.factories.agents import AgentQuotaFactory

    model, other = make_llm_model(ws), make_llm_model(ws)
    AgentQuotaFactory(workspace=ws, agent=None, max_tokens=None, max_cost=D("0"))
    response = api.post(RUN, {"model": model.pk, "template": "Hi"}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "quota_exhausted"
    response = api.post(COMPARE, {"models": [model.pk, other.pk], "template": "Hi"},
                        format="json")
    assert response.status_code == 200
    assert [a["error"]["code"] for a in response.json()["answers"]] == [
        "quota_exhausted", "quota_exhausted"]
    assert llm_server.requests == []


def test_compare_with_null_models_is_a_400_naming_each_item(api, llm_server):
    # A list field's errors are keyed by item index: they must render, not crash.
    response = api.post(COMPARE, {"template": "Hi", "models": [None, None]}, format="json")

    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]["models"]) == {"0", "1"}
    assert llm_server.requests == []

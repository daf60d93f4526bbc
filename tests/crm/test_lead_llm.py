"""Lead scores refined by the workspace's agent through the local fake LLM server: the
agent's score lands as a second row (method agent) within the configured bound of the
rules score, which stays; the facts sent carry no contact details; usage is metered;
a bad answer, a provider failure, a quota or the plan refusing leave the rules score
current with a timeline entry; nothing is asked when no agent is configured, for
customers, for the nightly decay, or once a newer score exists."""

import json
from decimal import Decimal

import pytest

from agents.models import LLMUsageLog
from billing.models import UsageRecord
from crm.models import ContactEvent, CrmSettings, LeadScore
from crm.services import lead_agent, scoring
from tests.agents.chat_support import live_agent, priced
from tests.agents.conftest import (  # noqa: F401  (fixtures)
    _llm_server_session,
    llm_server,
    make_llm_model,
)
from tests.billing.conftest import features  # noqa: F401  (fixture)
from tests.billing.entitlements_support import plan_with, subscribe
from tests.factories import CallFactory, ContactFactory, CustomerFactory, TranscriptFactory
from tests.factories.agents import AgentQuotaFactory

pytestmark = pytest.mark.django_db
AGENT = LeadScore.Method.AGENT


def answer(score, reasons=("Asked for a demo next week",)) -> dict:
    return {"text": json.dumps({"score": score, "reasons": list(reasons)}),
            "usage": {"input": 400, "output": 30}}


@pytest.fixture
def fake_llm(llm_server):  # noqa: F811
    """The agents tests' fake LLM server (script, recorded requests)."""
    return llm_server


@pytest.fixture
def agent(make_llm_model):  # noqa: F811
    return live_agent(priced(make_llm_model(timeout=1, max_retries=0, price=None)))


@pytest.fixture
def contact(agent):
    """A contact of the agent's workspace with one long answered call whose transcript
    says "interested": rules score 20 + 10 + 25 = 55 (grade B)."""
    contact = ContactFactory(workspace=agent.workspace, phone="+351912345678",
                             email="ana@example.com", company="Acme")
    call = CallFactory(workspace=agent.workspace, contact=contact, duration_seconds=180)
    TranscriptFactory(workspace=agent.workspace, call=call,
                      summary="Ana wants a demo; call her back on +351 912 345 678 or "
                              "ana@example.com.", extracted={"intent": "interested"})
    return contact


@pytest.fixture
def refining(agent):
    return CrmSettings.objects.create(workspace=agent.workspace, lead_score_agent=agent,
                                      lead_score_max_adjustment=15)


def score_now(contact, capture):
    """Score as a new call's end does; the refinement runs on commit (eager Celery)."""
    with capture(execute=True):
        return scoring.score(contact)


def scores(contact):
    return list(LeadScore.objects.filter(contact=contact).order_by("id")
                .values_list("method", "score", "grade"))


def failures(contact):
    return list(ContactEvent.objects.filter(contact=contact, kind=lead_agent.FAILED)
                .values_list("data__code", flat=True))


def test_the_agent_refines_the_rules_score_within_the_bound(
        contact, refining, fake_llm, django_capture_on_commit_callbacks):
    fake_llm.script([answer(64.5)])
    rules = score_now(contact, django_capture_on_commit_callbacks)
    assert scores(contact) == [("rules", Decimal("55.00"), "B"),
                               (AGENT, Decimal("64.50"), "B")]
    refined = scoring.current(contact)
    agent_reason = refined.reasons[-1]
    assert refined.reasons[:-1] == rules.reasons    # the rules' reasons are kept
    assert (agent_reason["rule"], agent_reason["points"], agent_reason["rules_score"],
            agent_reason["agent_score"], agent_reason["reasons"]) == (
        "agent", 9.5, "55.00", 64.5, ["Asked for a demo next week"])
    assert agent_reason["source"] == f"lead_score:{rules.pk}"
    # the tokens went through the agents app: a usage row and the plan's meter
    log = LLMUsageLog.objects.get(agent=refining.lead_score_agent)
    assert (log.tokens_in, log.tokens_out, log.status) == (400, 30, "ok")
    assert UsageRecord.objects.get(workspace=contact.workspace, metric="tokens").quantity == 430


def test_a_wild_answer_moves_the_score_only_by_the_bound(
        contact, refining, fake_llm, django_capture_on_commit_callbacks):
    fake_llm.script([answer(100)])
    score_now(contact, django_capture_on_commit_callbacks)
    assert scores(contact)[-1] == (AGENT, Decimal("70.00"), "B")
    refining.lead_score_max_adjustment = 25
    refining.save()
    fake_llm.script([answer(0)])
    score_now(contact, django_capture_on_commit_callbacks)
    assert scores(contact)[-1] == (AGENT, Decimal("30.00"), "C")
    graded = ContactEvent.objects.filter(contact=contact, kind="lead.graded").latest("id")
    assert graded.data == {"score": "30.00", "grade": "C", "previous": "B",
                           "method": "agent"}


def test_the_bound_holds_to_zero_and_a_hundred():
    assert lead_agent.bounded(Decimal("95"), 100, 15) == Decimal("100.00")
    assert lead_agent.bounded(Decimal("5"), 0, 15) == Decimal("0.00")
    assert lead_agent.bounded(Decimal("50"), 12.345, 50) == Decimal("12.35")
    assert lead_agent.bounded(Decimal("50"), 90, 0) == Decimal("50.00")


def test_the_agent_hears_the_facts_without_contact_details(
        contact, refining, fake_llm, django_capture_on_commit_callbacks):
    fake_llm.script([answer(60)])
    score_now(contact, django_capture_on_commit_callbacks)
    sent = json.dumps(fake_llm.requests[-1]["json"]["messages"])
    assert "Ana wants a demo" in sent and "interested" in sent and "Acme" in sent
    assert "55.00" in sent and "at most 15 points" in sent
    for secret in ("912345678", "912 345 678", "ana@example.com"):
        assert secret not in sent


@pytest.mark.parametrize("reply", [
    {"text": "I think this lead is warm."},                                 # not JSON
    {"text": json.dumps({"score": 150, "reasons": ["very keen"]})},          # out of range
    {"text": json.dumps({"score": 60, "reasons": []})},                      # no reasons
    {"text": json.dumps({"score": 60, "reasons": ["ok"], "grade": "A"})},    # extra key
    {"text": json.dumps({"score": "60", "reasons": ["ok"]})},                # a string
])
def test_an_invalid_answer_leaves_the_rules_score(
        contact, refining, fake_llm, django_capture_on_commit_callbacks, reply):
    fake_llm.script([reply])
    score_now(contact, django_capture_on_commit_callbacks)
    assert scores(contact) == [("rules", Decimal("55.00"), "B")]
    assert failures(contact) == ["invalid_answer"]
    entry = ContactEvent.objects.get(contact=contact, kind=lead_agent.FAILED)
    assert entry.summary.startswith("Agent refinement failed, the rules score stands")


def test_a_provider_failure_leaves_the_rules_score(
        contact, refining, fake_llm, django_capture_on_commit_callbacks):
    fake_llm.script([{"status": 500}])
    score_now(contact, django_capture_on_commit_callbacks)
    assert scores(contact) == [("rules", Decimal("55.00"), "B")]
    assert failures(contact) == ["provider_error"]


def test_the_plans_token_limit_refuses_before_the_provider(
        contact, refining, fake_llm, features,  # noqa: F811
        django_capture_on_commit_callbacks):
    subscribe(contact.workspace, plan_with(features, tokens_per_month=100))
    score_now(contact, django_capture_on_commit_callbacks)
    assert scores(contact) == [("rules", Decimal("55.00"), "B")]
    assert failures(contact) == ["limit_reached"]
    assert fake_llm.requests == []


def test_an_exhausted_agent_quota_refuses(
        contact, refining, fake_llm, django_capture_on_commit_callbacks):
    AgentQuotaFactory(workspace=contact.workspace, agent=refining.lead_score_agent,
                      max_tokens=10, max_cost=None)
    score_now(contact, django_capture_on_commit_callbacks)
    assert scores(contact) == [("rules", Decimal("55.00"), "B")]
    assert failures(contact) == ["quota_exhausted"]
    assert fake_llm.requests == []


def test_an_agent_not_ready_is_a_failure_too(
        contact, refining, fake_llm, django_capture_on_commit_callbacks):
    agent = refining.lead_score_agent
    agent.status = agent.Status.PAUSED
    agent.save(update_fields=["status"])
    score_now(contact, django_capture_on_commit_callbacks)
    assert failures(contact) == ["agent_not_ready"]
    assert scores(contact) == [("rules", Decimal("55.00"), "B")]


def test_nothing_is_asked_without_an_agent_for_customers_or_for_the_decay(
        contact, fake_llm, django_capture_on_commit_callbacks, agent):
    score_now(contact, django_capture_on_commit_callbacks)             # not configured
    CrmSettings.objects.create(workspace=contact.workspace, lead_score_agent=None)
    score_now(contact, django_capture_on_commit_callbacks)             # configured empty
    CrmSettings.objects.filter(workspace=contact.workspace).update(lead_score_agent=agent)
    with django_capture_on_commit_callbacks(execute=True):
        scoring.rescore_active()                                       # nightly decay
    CustomerFactory(workspace=contact.workspace, contact=contact)
    score_now(contact, django_capture_on_commit_callbacks)             # a customer: 100
    assert fake_llm.requests == []
    assert {method for method, _, _ in scores(contact)} == {"rules"}
    assert scores(contact)[-1] == ("rules", Decimal("100.00"), "A")


def test_a_score_superseded_before_the_agent_answers_is_not_refined(
        contact, refining, fake_llm):
    first = scoring.score(contact)                 # no commit: the task is not queued
    scoring.score(contact)
    assert lead_agent.refine(first.pk) is None
    assert fake_llm.requests == []


def test_the_settings_resource_is_for_admins_and_names_an_agent_of_the_workspace(agent):
    from tests.contract.isolation import make_tenant
    from tests.factories import AgentFactory

    tenant = make_tenant()
    mine = AgentFactory(workspace=tenant.workspace)
    body = {"workspace": tenant.workspace.pk, "lead_score_agent": mine.pk,
            "lead_score_max_adjustment": 20}
    url = "/api/v1/crm/settings/"
    assert tenant.clients["member"].post(url, body, format="json").status_code == 403
    theirs = tenant.clients["admin"].post(url, {**body, "lead_score_agent": agent.pk},
                                          format="json")
    assert theirs.status_code == 400 and "lead_score_agent" in theirs.json()["errors"]
    too_far = tenant.clients["admin"].post(url, {**body, "lead_score_max_adjustment": 51},
                                           format="json")
    assert too_far.status_code == 400
    assert "lead_score_max_adjustment" in too_far.json()["errors"]
    made = tenant.clients["admin"].post(url, body, format="json")
    assert made.status_code == 201, made.content
    assert CrmSettings.objects.get(workspace=tenant.workspace).lead_score_agent == mine
    again = tenant.clients["admin"].post(url, body, format="json")
    assert again.status_code in (400, 409)      # one row per workspace

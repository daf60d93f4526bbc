"""Every app asks billing before the action: past the plan's limit each door answers 402
naming the limit (and nothing is written); raising the plan lets the action through."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from agents.models import Agent, Document, KnowledgeBase
from agents.providers.base import ChatMessage
from agents.services import calls
from billing import entitlements as ent
from billing.models import UsageRecord
from reports.models import ReportDefinition
from reports.services import definitions
from tests.agents.conftest import (  # noqa: F401  (fixtures)
    _llm_server_session,
    llm_server,
    make_llm_model,
)
from tests.billing.entitlements_support import plan_with, set_limit, subscribe
from tests.factories import (
    AgentFactory,
    FileFactory,
    InvitationFactory,
    KnowledgeBaseFactory,
    MembershipFactory,
    TriggerFactory,
    UserFactory,
    WorkspaceFactory,
)
from tests.factories.workflows import WorkflowFactory
from workflows.models import Trigger
from workflows.services import triggers
from workspaces.models import File, Invitation, Membership
from workspaces.services.workspaces import membership_add

pytestmark = pytest.mark.django_db
API = "/api/v1/"


@pytest.fixture
def workspace():
    return WorkspaceFactory()


@pytest.fixture
def admin(workspace):
    client = APIClient()
    client.force_login(MembershipFactory(workspace=workspace, role="admin").user)
    return client


def refused(response, feature, limit, used, requested=1):
    assert response.status_code == 402, response.content
    body = response.json()
    assert body["code"] == "limit_reached"
    assert {k: body["errors"][k] for k in ("feature", "limit", "used", "requested")} == {
        "feature": feature, "limit": limit, "used": used, "requested": requested}
    assert feature in body["message"] and f"{used} of {limit}" in body["message"]
    return body


# --- agents ------------------------------------------------------------------------------


def test_agent_create_is_refused_at_the_plans_agent_count(workspace, admin, features):
    plan = plan_with(features, agents=1)
    subscribe(workspace, plan)
    AgentFactory(workspace=workspace)
    AgentFactory(workspace=workspace, status=Agent.Status.ARCHIVED)  # not counted
    body = {"workspace": workspace.pk, "name": "Second", "kind": "chat"}
    refused(admin.post(f"{API}agents/", body, format="json"), "agents", 1, 1)
    assert Agent.objects.filter(workspace=workspace).count() == 2
    assert refused(admin.post(f"{API}agents/", body, format="json"), "agents", 1, 1)[
        "errors"]["resets_at"] is None  # counted now: nothing resets by itself
    set_limit(plan, "agents", 2)
    assert admin.post(f"{API}agents/", body, format="json").status_code == 201


def test_unarchiving_an_agent_counts_again(workspace, admin, features):
    subscribe(workspace, plan_with(features, agents=1))
    AgentFactory(workspace=workspace)
    archived = AgentFactory(workspace=workspace, status=Agent.Status.ARCHIVED)
    response = admin.patch(f"{API}agents/{archived.pk}/", {"status": "active"}, format="json")
    refused(response, "agents", 1, 1)


# --- seats ---------------------------------------------------------------------------------


def test_an_invitation_takes_a_seat_and_is_refused_past_the_limit(workspace, admin, features):
    plan = plan_with(features, seats=2)
    subscribe(workspace, plan)  # the admin is one seat
    url = f"{API}invitations/"
    first = admin.post(url, {"workspace": workspace.pk, "email": "a@example.com",
                             "role": "member"}, format="json")
    assert first.status_code == 201, first.content
    response = admin.post(url, {"workspace": workspace.pk, "email": "b@example.com",
                                "role": "member"}, format="json")
    refused(response, "seats", 2, 2)
    assert Invitation.objects.filter(workspace=workspace).count() == 1
    set_limit(plan, "seats", 3)
    assert admin.post(url, {"workspace": workspace.pk, "email": "b@example.com",
                            "role": "member"}, format="json").status_code == 201


def test_adding_a_member_directly_needs_a_seat(workspace, features):
    subscribe(workspace, plan_with(features, seats=1))
    MembershipFactory(workspace=workspace, role="owner")
    InvitationFactory(workspace=workspace, status=Invitation.Status.REVOKED)  # not counted
    with pytest.raises(ent.LimitReached) as caught:
        membership_add(workspace=workspace, user=UserFactory())
    assert caught.value.errors["feature"] == "seats"
    assert Membership.objects.filter(workspace=workspace).count() == 1


def test_the_membership_admin_shows_the_refusal_as_a_message(client, superuser, workspace,
                                                             features):
    subscribe(workspace, plan_with(features, seats=0))
    client.force_login(superuser)
    response = client.post("/admin/workspaces/membership/add/", {
        "workspace": workspace.pk, "user": UserFactory().pk, "role": "member"}, follow=True)
    assert response.status_code == 200
    assert "Plan limit reached for Seats (seats)" in response.content.decode()
    assert not Membership.objects.filter(workspace=workspace).exists()


# --- storage -------------------------------------------------------------------------------


def test_a_file_upload_past_the_storage_limit_is_refused(workspace, admin, features):
    plan = plan_with(features, storage_bytes=100)
    subscribe(workspace, plan)
    FileFactory(workspace=workspace, size=90)
    upload = SimpleUploadedFile("big.csv", b"x" * 20, "text/csv")
    response = admin.post(f"{API}files/", {"workspace": workspace.pk, "file": upload},
                          format="multipart")
    refused(response, "storage_bytes", 100, 90, requested=20)
    assert File.objects.filter(workspace=workspace).count() == 1
    set_limit(plan, "storage_bytes", 200)
    upload.seek(0)
    assert admin.post(f"{API}files/", {"workspace": workspace.pk, "file": upload},
                      format="multipart").status_code == 201


def test_typed_document_text_counts_to_storage(workspace, admin, features):
    subscribe(workspace, plan_with(features, storage_bytes=50, knowledge_bases=True))
    kb = KnowledgeBaseFactory(workspace=workspace)
    FileFactory(workspace=workspace, size=30)
    response = admin.post(f"{API}agents/documents/", {
        "workspace": workspace.pk, "knowledge_base": kb.pk, "title": "Returns",
        "text": "y" * 25}, format="json")
    refused(response, "storage_bytes", 50, 30, requested=25)
    assert not Document.objects.exists()
    ok = admin.post(f"{API}agents/documents/", {
        "workspace": workspace.pk, "knowledge_base": kb.pk, "title": "Returns",
        "text": "y" * 20}, format="json")
    assert ok.status_code == 201, ok.content
    assert ent.allowance(workspace.pk, "storage_bytes").used == 50


# --- switches ------------------------------------------------------------------------------


def test_knowledge_bases_need_the_switch(workspace, admin, features):
    plan = plan_with(features, knowledge_bases=False)
    subscribe(workspace, plan)
    body = {"workspace": workspace.pk, "name": "Help centre"}
    response = admin.post(f"{API}agents/knowledge-bases/", body, format="json")
    assert response.status_code == 402
    assert response.json()["code"] == "feature_not_in_plan"
    assert response.json()["errors"]["feature"] == "knowledge_bases"
    assert not KnowledgeBase.objects.exists()
    plan.features.filter(feature__key="knowledge_bases").update(enabled=True)
    assert admin.post(f"{API}agents/knowledge-bases/", body, format="json").status_code == 201


def test_the_knowledge_base_admin_shows_the_refusal(client, superuser, workspace, features):
    subscribe(workspace, plan_with(features, agents=5))  # no knowledge bases in the plan
    client.force_login(superuser)
    response = client.post("/admin/agents/knowledgebase/add/", {
        "workspace": workspace.pk, "name": "Help", "language": "english", "chunk_size": 800,
        "chunk_overlap": 100, "metadata": "{}", "documents-TOTAL_FORMS": 0,
        "documents-INITIAL_FORMS": 0}, follow=True)
    assert response.status_code == 200
    assert "not part of this workspace&#x27;s plan" in response.content.decode()
    assert not KnowledgeBase.objects.exists()


# --- schedules -----------------------------------------------------------------------------


def test_report_schedules_count_and_are_refused_past_the_limit(workspace, features):
    plan = plan_with(features, schedules=1)
    subscribe(workspace, plan)
    owner = MembershipFactory(workspace=workspace, role="admin").user
    fields = {"name": "Top clients", "kind": "client_sales",
              "parameters": {"period": "previous_quarter", "top_n": 5},
              "schedule_cron": "0 6 * * 1", "schedule_timezone": "UTC"}
    definitions.definition_create(workspace=workspace, by=owner, **fields)
    with pytest.raises(ent.LimitReached) as caught:
        definitions.definition_create(workspace=workspace, by=owner, **{**fields, "name": "B"})
    assert (caught.value.errors["feature"], caught.value.errors["used"]) == ("schedules", 1)
    # Unscheduled definitions are not schedules.
    unscheduled = definitions.definition_create(workspace=workspace, by=owner, **{
        **fields, "name": "C", "schedule_cron": ""})
    with pytest.raises(ent.LimitReached):
        definitions.definition_update(unscheduled, schedule_cron="0 7 * * 1")
    assert ReportDefinition.objects.filter(workspace=workspace).exclude(
        schedule_cron="").count() == 1
    set_limit(plan, "schedules", 2)
    definitions.definition_update(unscheduled, schedule_cron="0 7 * * 1")


def test_report_schedules_over_the_api(workspace, features):
    subscribe(workspace, plan_with(features, schedules=0))
    user = MembershipFactory(workspace=workspace, role="member").user
    client = APIClient()
    client.force_login(user)
    response = client.post(f"{API}reports/definitions/", {
        "workspace": workspace.pk, "name": "Top", "kind": "client_sales",
        "parameters": {"period": "previous_quarter", "top_n": 5}, "recipients": [user.pk],
        "schedule_cron": "0 6 * * 1", "schedule_timezone": "UTC"}, format="json")
    refused(response, "schedules", 0, 0)


def test_workflow_schedule_triggers_count_with_report_schedules(workspace, features):
    plan = plan_with(features, schedules=2)
    subscribe(workspace, plan)
    workflow = WorkflowFactory(workspace=workspace)
    cron = {"cron": "0 2 * * *", "timezone": "UTC"}
    triggers.trigger_create(workflow=workflow, kind=Trigger.Kind.SCHEDULE, config=cron)
    TriggerFactory(workspace=workspace, workflow=workflow, kind=Trigger.Kind.SCHEDULE,
                   config=cron, enabled=False)  # disabled: not counted
    triggers.trigger_create(workflow=workflow, kind=Trigger.Kind.WEBHOOK)  # not a schedule
    definitions.definition_create(workspace=workspace, name="R", kind="client_sales",
                                  parameters={"period": "previous_quarter", "top_n": 5},
                                  schedule_cron="0 6 * * 1", schedule_timezone="UTC")
    with pytest.raises(ent.LimitReached) as caught:
        triggers.trigger_create(workflow=workflow, kind=Trigger.Kind.SCHEDULE, config=cron)
    assert (caught.value.errors["used"], caught.value.errors["limit"]) == (2, 2)
    disabled = Trigger.objects.get(workflow=workflow, kind="schedule", enabled=False)
    with pytest.raises(ent.LimitReached):
        triggers.trigger_update(disabled, enabled=True)
    set_limit(plan, "schedules", 3)
    triggers.trigger_update(disabled, enabled=True)


# --- tokens --------------------------------------------------------------------------------


def _messages():
    return [ChatMessage(role="user", content="Hello there")]


def test_a_call_past_the_plans_tokens_is_refused_before_the_provider(
        workspace, features, make_llm_model, llm_server):  # noqa: F811
    model = make_llm_model(workspace)
    plan = plan_with(features, tokens_per_month=5000)
    subscribe(workspace, plan)
    llm_server.script([{"text": "Hi!", "usage": {"input": 10, "output": 5}}])
    _, row = calls.call_model(model=model, messages=_messages(), source="chat",
                              workspace_id=workspace.pk, max_tokens=100)
    record = UsageRecord.objects.get(workspace=workspace, metric="tokens")
    assert (record.quantity, record.transaction_id) == (15, f"llm:{row.pk}")
    set_limit(plan, "tokens_per_month", 100)
    with pytest.raises(ent.LimitReached) as caught:
        calls.call_model(model=model, messages=_messages(), source="chat",
                         workspace_id=workspace.pk, max_tokens=100)
    assert (caught.value.errors["feature"], caught.value.errors["used"]) == (
        "tokens_per_month", 15)
    assert len(llm_server.requests) == 1  # the refused call never reached the provider


def test_embeddings_are_metered_too(workspace, make_llm_model, llm_server):  # noqa: F811
    model = make_llm_model(workspace, model_kind="embedding")
    llm_server.script([{"usage": {"input": 7}}])
    calls.embed_texts(model=model, texts=["hello"], workspace_id=workspace.pk)
    assert UsageRecord.objects.get(workspace=workspace, metric="tokens").quantity == 7

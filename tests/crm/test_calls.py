"""Placing calls and moving them forward: the plan switch, the credits hold, the
provider (a local server speaking Bolna), forward-only status, settlement on completion
and failed connections counted."""

import json
from decimal import Decimal

import pytest

from billing.services import credits
from core import events
from crm.models import Call, Contact, ContactEvent, Transcript
from crm.services import calls
from tests.factories import AgentFactory, ContactFactory, PhoneNumberFactory, PlanFactory

from .voice_server import crm_events_fixture, server_fixture, voice_urls_fixture  # noqa: F401

pytestmark = pytest.mark.django_db
S = Call.Status


@pytest.fixture
def contact():
    return ContactFactory(phone="+351912345678")


@pytest.fixture
def agent(contact):
    return AgentFactory(workspace=contact.workspace, kind="voice",
                        voice_provider_agent_id="agent-uuid-1")


@pytest.fixture
def number(contact):
    return PhoneNumberFactory(workspace=contact.workspace, number="+14155550100")


@pytest.fixture
def funded(contact):
    credits.grant(contact.workspace_id, 100, reason="test credits")
    return contact.workspace


@pytest.fixture
def announced():
    seen = []

    def handler(event):
        seen.append(event)

    events.subscribe(handler)
    yield seen
    events.unsubscribe(handler)


def place(contact, agent, **kwargs):
    return calls.place_call(workspace=contact.workspace, agent=agent, contact=contact, **kwargs)


def balance(workspace) -> Decimal:
    return credits.balance(workspace.pk)


def kinds(contact) -> list[str]:
    """The contact's call entries (scores and follow-ups add their own)."""
    return list(ContactEvent.objects.filter(contact=contact, kind__startswith="call.")
                .order_by("id").values_list("kind", flat=True))


# --- placing --------------------------------------------------------------------------------


def test_placing_a_call_reserves_credits_and_queues_it_at_the_provider(
        server, contact, agent, number, funded):
    call = place(contact, agent)
    assert call.status == S.QUEUED
    assert call.provider_execution_id in server.executions
    assert server.placed == [{"agent_id": "agent-uuid-1", "recipient_phone_number": "+351912345678",
                              "from_phone_number": "+14155550100",
                              "user_data": {"synapscale_call": call.pk,
                                            "synapscale_workspace": funded.pk}}]
    assert (call.from_number, call.to_number, call.phone_number) == (
        "+14155550100", "+351912345678", number)
    assert balance(funded) == 90  # 10 reserved
    assert kinds(contact) == ["call.placed"]
    assert server.requests[0]["headers"]["authorization"] == "Bearer bn-test-0123456789abcdef"


def test_a_campaign_reserves_its_own_credits_per_call(server, contact, agent, number, funded):
    from tests.factories import CampaignFactory

    campaign = CampaignFactory(workspace=funded, agent=agent, credits_per_call=Decimal("25"))
    place(contact, agent, campaign=campaign)
    assert balance(funded) == 75


def test_short_credits_refuse_the_call_and_nothing_is_written_or_dialled(
        server, contact, agent, number):
    credits.grant(contact.workspace_id, 5, reason="too little")
    with pytest.raises(credits.InsufficientCredits) as refused:
        place(contact, agent)
    assert (refused.value.status_code, refused.value.error_code) == (402, "insufficient_credits")
    assert not Call.objects.exists()
    assert server.requests == []
    assert balance(contact.workspace) == 5


def test_a_plan_without_voice_calls_refuses_before_anything_happens(
        server, contact, agent, number, funded):
    PlanFactory(is_default=True)  # lists no voice_calls: the switch is off
    with pytest.raises(calls.ApiError) as refused:
        place(contact, agent)
    assert (refused.value.status_code, refused.value.error_code) == (402, "feature_not_in_plan")
    assert not Call.objects.exists() and server.requests == []
    assert balance(funded) == 100


@pytest.mark.parametrize(("change", "code"), [
    ({"do_not_call": True}, "do_not_call"),
    ({"phone": "", "email": "only@example.com"}, "no_phone"),
])
def test_do_not_call_and_phoneless_contacts_are_refused_with_409(
        server, contact, agent, number, funded, change, code):
    Contact.objects.filter(pk=contact.pk).update(**change)
    contact.refresh_from_db()
    with pytest.raises(calls.ApiError) as refused:
        place(contact, agent)
    assert (refused.value.status_code, refused.value.error_code) == (409, code)
    assert not Call.objects.exists() and server.requests == []
    assert balance(funded) == 100


def test_an_agent_without_a_voice_platform_id_is_refused(server, contact, number, funded):
    agent = AgentFactory(workspace=contact.workspace, kind="voice")
    with pytest.raises(calls.ApiError) as refused:
        place(contact, agent)
    assert refused.value.error_code == "agent_not_voice"


def test_a_provider_refusal_keeps_a_failed_call_and_releases_the_hold(
        server, contact, agent, number, funded, announced, django_capture_on_commit_callbacks):
    server.fail(400, message="recipient_phone_number is not reachable")
    with pytest.raises(calls.CallPlacementFailed) as failed, \
            django_capture_on_commit_callbacks(execute=True):
        place(contact, agent)
    assert failed.value.status_code == 502
    call = Call.objects.get()
    assert failed.value.errors["call"] == call.pk
    assert (call.status, call.credits_charged, call.hangup_reason) == (S.FAILED, 0, "not_placed")
    assert "not reachable" in call.metadata["placement_error"]["message"]
    assert balance(funded) == 100
    contact.refresh_from_db()
    assert contact.not_connected == 0  # never dialled: not a failed connection
    assert kinds(contact) == ["call.failed"]
    assert [e.name for e in announced] == ["crm.call.ended"]


def test_a_5xx_on_placing_is_not_sent_again_but_a_429_is(server, contact, agent, number, funded):
    server.fail(503)
    with pytest.raises(calls.CallPlacementFailed) as failed:
        place(contact, agent)
    assert failed.value.errors["may_have_been_placed"] is True
    assert [r["path"] for r in server.requests] == ["/call"]  # once: it may have rung
    server.requests.clear()
    server.fail(429, headers={"Retry-After": "0"})
    call = place(contact, agent)
    assert call.status == S.QUEUED and call.provider_execution_id
    assert [r["path"] for r in server.requests] == ["/call", "/call"]
    assert balance(funded) == 90  # the failed call's hold came back, the new one holds 10


# --- events -------------------------------------------------------------------------------------


def test_completion_settles_the_real_cost_per_started_minute(
        server, contact, agent, number, funded, announced, django_capture_on_commit_callbacks):
    call = place(contact, agent)
    with django_capture_on_commit_callbacks(execute=True):
        calls.apply_event(call, S.RINGING)
        calls.apply_event(call, S.IN_PROGRESS)
        calls.apply_event(call, S.COMPLETED, data={
            "duration_seconds": 125, "cost": Decimal("0.31"),
            "recording_url": "https://rec.example/1.mp3"})
    call.refresh_from_db()
    # 125 s = 3 started minutes x 10 credits = 30 (the hold was 10: 20 more taken)
    assert (call.status, call.duration_seconds, call.credits_charged) == (S.COMPLETED, 125, 30)
    assert balance(funded) == 70
    assert call.answered_at is not None and call.ended_at is not None
    assert (call.cost, call.recording_url) == (Decimal("0.3100"), "https://rec.example/1.mp3")
    assert kinds(contact) == ["call.placed", "call.completed"]
    assert [e.name for e in announced] == ["crm.call.ended", "crm.call.completed"]
    assert announced[1].payload["credits_charged"] == "30"


def test_a_short_call_gives_back_the_unused_part_of_the_hold(
        server, settings, contact, agent, number, funded):
    settings.CRM_CREDITS_PER_MINUTE = 4
    call = place(contact, agent)  # holds 10
    calls.apply_event(call, S.COMPLETED, data={"duration_seconds": 61})
    call.refresh_from_db()
    assert call.credits_charged == 8  # 61 s = 2 started minutes x 4
    assert balance(funded) == 92


@pytest.mark.parametrize("outcome", [S.NO_ANSWER, S.BUSY, S.FAILED])
def test_a_failed_connection_counts_on_the_contact_and_costs_nothing(
        server, contact, agent, number, funded, outcome):
    for _ in range(2):
        call = place(contact, agent)
        calls.apply_event(call, S.RINGING)
        calls.apply_event(call, outcome)
        calls.apply_event(call, outcome)  # again: final states are terminal
    contact.refresh_from_db()
    assert contact.not_connected == 2
    assert balance(funded) == 100
    assert set(Call.objects.values_list("status", "credits_charged")) == {(outcome, 0)}


def test_a_call_never_moves_backwards(server, contact, agent, number, funded):
    call = place(contact, agent)
    calls.apply_event(call, S.IN_PROGRESS)
    assert calls.apply_event(call, S.RINGING) is False
    calls.apply_event(call, S.COMPLETED, data={"duration_seconds": 30})
    for late in (S.RINGING, S.IN_PROGRESS, S.QUEUED, S.NO_ANSWER, S.FAILED):
        calls.apply_event(call, late, data={"duration_seconds": 999})
    call.refresh_from_db()
    assert (call.status, call.duration_seconds, call.credits_charged) == (S.COMPLETED, 30, 10)
    assert balance(funded) == 90
    contact.refresh_from_db()
    assert contact.not_connected == 0


# --- transcripts ----------------------------------------------------------------------------------


def test_a_transcript_is_stored_once_and_its_analysis_status_says_what_came_with_it(
        server, contact, agent, number, funded):
    call = place(contact, agent)
    turns = [{"speaker": "agent", "text": "Hello Ana"}, {"speaker": "contact", "text": "Hi"}]
    transcript = calls.store_transcript(call, turns)
    assert transcript.analysis_status == Transcript.AnalysisStatus.PENDING
    again = calls.store_transcript(call, turns, summary="Interested",
                                   extracted={"intent": "buy"})
    assert again.pk == transcript.pk
    assert (again.analysis_status, again.extracted) == ("completed", {"intent": "buy"})
    assert kinds(contact).count("call.transcribed") == 1
    with pytest.raises(calls.ApiError):
        calls.store_transcript(call, "not turns")


# --- the API and the admin ------------------------------------------------------------------


@pytest.fixture
def tenant(contact):
    from tests.contract.isolation import make_tenant

    made = make_tenant()
    Contact.objects.filter(pk=contact.pk).update(workspace=made.workspace)
    return made


@pytest.fixture
def api_setup(server, voice_urls, tenant, contact):
    contact.refresh_from_db()
    ws = tenant.workspace
    credits.grant(ws.pk, 100, reason="api test")
    agent = AgentFactory(workspace=ws, kind="voice", voice_provider_agent_id="agent-uuid-2")
    PhoneNumberFactory(workspace=ws, number="+14155550111")
    return tenant, contact, agent


def test_a_member_places_a_call_through_the_api(api_setup):
    tenant, contact, agent = api_setup
    response = tenant.clients["member"].post("/api/v1/crm/calls/place/", {
        "contact": contact.pk, "agent": agent.pk, "from_number": "+1 415 555 0111"},
        format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["from_number"], body["contact"]) == (
        "queued", "+14155550111", contact.pk)
    assert credits.balance(tenant.workspace.pk) == 90


def test_the_api_answers_structured_refusals(api_setup):
    tenant, contact, agent = api_setup
    member = tenant.clients["member"]
    url = "/api/v1/crm/calls/place/"
    viewer = tenant.clients["viewer"].post(url, {"contact": contact.pk, "agent": agent.pk},
                                           format="json")
    assert viewer.status_code == 403
    other = ContactFactory()
    assert member.post(url, {"contact": other.pk, "agent": agent.pk},
                       format="json").status_code == 404
    Contact.objects.filter(pk=contact.pk).update(do_not_call=True)
    refused = member.post(url, {"contact": contact.pk, "agent": agent.pk}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "do_not_call")
    Contact.objects.filter(pk=contact.pk).update(do_not_call=False)
    credits.consume(tenant.workspace.pk, 95, reference="spent")
    short = member.post(url, {"contact": contact.pk, "agent": agent.pk}, format="json")
    assert (short.status_code, short.json()["code"]) == (402, "insufficient_credits")
    assert not Call.objects.exists()


def test_the_admin_action_calls_the_selected_contacts(server, rf, superuser, contact, agent,
                                                      number, funded):
    from django.contrib.admin.sites import site
    from django.contrib.messages.storage.fallback import FallbackStorage

    from crm.admin.calls import call_now

    request = rf.post("/admin/crm/contact/")
    request.user = superuser
    request.session = {}
    request._messages = FallbackStorage(request)
    call_now(site._registry[Contact], request, Contact.objects.filter(pk=contact.pk))
    call = Call.objects.get()
    assert (call.contact, call.agent, call.status) == (contact, agent, S.QUEUED)
    assert "Calling" in next(str(m) for m in request._messages)


@pytest.mark.parametrize("from_number", ["not a number", "\ud800", "+14155559999", "999999"])
def test_a_from_number_that_is_not_one_of_the_workspace_is_refused(api_setup, from_number):
    tenant, contact, agent = api_setup
    body = json.dumps({"contact": contact.pk, "agent": agent.pk, "from_number": from_number})
    response = tenant.clients["member"].generic("POST", "/api/v1/crm/calls/place/", body,
                                                content_type="application/json")
    assert response.status_code in (400, 404), response.content
    if from_number != "\ud800":  # that one the JSON parser refuses before any field
        assert "from_number" in response.json()["errors"]
    assert not Call.objects.exists()


# --- lost webhooks ---------------------------------------------------------------------------


def test_a_call_whose_webhooks_were_lost_is_reconciled_from_the_execution(
        server, contact, agent, number, funded):
    from datetime import timedelta

    from crm.tasks import reconcile_stale_calls
    from tests.crm.voice_server import execution

    call = place(contact, agent)
    ex = call.provider_execution_id
    server.executions[ex] = execution(ex, "completed", duration=59, cost=1.2,
                                      transcript="assistant: Hi\nuser: Not now")
    assert reconcile_stale_calls() == {"refreshed": 0, "failed": 0}  # not stale yet
    Call.objects.filter(pk=call.pk).update(created_at=call.created_at - timedelta(hours=1))
    assert reconcile_stale_calls() == {"refreshed": 1, "failed": 0}
    call.refresh_from_db()
    assert (call.status, call.duration_seconds, call.credits_charged) == (S.COMPLETED, 59, 10)
    assert Transcript.objects.get(call=call).turns[1] == {"speaker": "contact",
                                                          "text": "Not now"}
    assert reconcile_stale_calls() == {"refreshed": 0, "failed": 0}  # final now


def test_a_contact_already_on_a_call_is_not_called_again_until_it_ends(
        server, contact, agent, number, funded):
    first = place(contact, agent)
    with pytest.raises(calls.ApiError) as refused:
        place(contact, agent)
    assert (refused.value.status_code, refused.value.error_code) == (409, "call_in_progress")
    assert Call.objects.count() == 1 and len(server.placed) == 1
    calls.apply_event(first, S.NO_ANSWER)
    assert place(contact, agent).status == S.QUEUED

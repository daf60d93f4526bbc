"""Provider webhooks, exactly once: signed Bolna events and Twilio status callbacks are
stored once (ProviderEvent), answered 202 and applied on the worker; duplicates and
events out of order leave one correct call; a bad signature is a 403 that stores and
changes nothing."""

import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from billing.services import credits
from crm import webhooks
from crm.models import Call, Contact, ContactEvent, ProviderEvent, Transcript
from crm.services import calls
from tests.factories import AgentFactory, ContactFactory, PhoneNumberFactory

from .voice_server import (  # noqa: F401
    PUBLIC_BASE,
    crm_events_fixture,
    execution,
    server_fixture,
    sign,
    twilio_signature,
    voice_urls_fixture,
)

pytestmark = pytest.mark.django_db
S = Call.Status
VOICE_URL = "/api/v1/crm/webhooks/voice/"
TWILIO_PATH = "/api/v1/crm/webhooks/twilio/status/"
SID = "CA" + "7" * 32


@pytest.fixture
def client(voice_urls):
    return APIClient()


@pytest.fixture
def call(server):
    contact = ContactFactory(phone="+351912345678")
    credits.grant(contact.workspace_id, 100, reason="test")
    agent = AgentFactory(workspace=contact.workspace, kind="voice",
                         voice_provider_agent_id="agent-uuid")
    PhoneNumberFactory(workspace=contact.workspace, number="+14155550100")
    return calls.place_call(workspace=contact.workspace, agent=agent, contact=contact)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Deliver inside a commit capture, so the worker's task runs (eager Celery)."""
    def deliver(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)
    return deliver


def voice(client, payload, *, signature=None):
    body = json.dumps(payload).encode()
    return client.generic("POST", VOICE_URL, body, content_type="application/json",
                          HTTP_X_BOLNA_SIGNATURE=sign(body) if signature is None else signature)


def twilio(client, params, *, signature=None):
    url = PUBLIC_BASE + TWILIO_PATH
    return client.post(TWILIO_PATH, urlencode(params),
                       content_type="application/x-www-form-urlencoded",
                       HTTP_X_TWILIO_SIGNATURE=signature if signature is not None
                       else twilio_signature(url, params))


def state(call):
    call.refresh_from_db()
    contact = Contact.objects.get(pk=call.contact_id)
    return {"status": call.status, "duration": call.duration_seconds,
            "charged": call.credits_charged, "recording": call.recording_url,
            "balance": credits.balance(call.workspace_id),
            "not_connected": contact.not_connected,
            "timeline": sorted(ContactEvent.objects.filter(contact=contact,
                                                           kind__startswith="call.")
                               .values_list("kind", flat=True))}


def lifecycle(call):
    ex = call.provider_execution_id
    return [execution(ex, "ringing", updated_at="2026-11-29T10:00:01+00:00"),
            execution(ex, "in-progress", updated_at="2026-11-29T10:00:05+00:00"),
            execution(ex, "call-disconnected", duration=95,
                      updated_at="2026-11-29T10:01:40+00:00"),
            execution(ex, "completed", duration=95, cost=4.5,
                      recording_url="https://rec.example/a.mp3",
                      transcript="assistant: Hello\nuser: Call me tomorrow",
                      summary="Asked for a call back", extracted_data={"intent": "call_back"},
                      updated_at="2026-11-29T10:01:45+00:00")]


def test_a_signed_event_is_answered_202_and_applied_on_the_worker(client, call, run):
    response = run(voice, client, lifecycle(call)[0])
    assert response.status_code == 202, response.content
    assert response.json()["duplicate"] is False
    event = ProviderEvent.objects.get()
    assert (event.provider, event.status, event.call, event.workspace_id) == (
        "voice", "processed", call, call.workspace_id)
    assert state(call)["status"] == S.RINGING


def test_a_whole_call_settles_its_credits_and_stores_its_transcript(client, call, run):
    for payload in lifecycle(call):
        assert run(voice, client, payload).status_code == 202
    # 95 s = 2 started minutes x 10 = 20 credits (10 were held, 10 more taken)
    assert state(call) == {"status": S.COMPLETED, "duration": 95, "charged": Decimal(20),
                           "recording": "https://rec.example/a.mp3", "balance": Decimal(80),
                           "not_connected": 0,
                           "timeline": ["call.completed", "call.placed", "call.transcribed"]}
    transcript = Transcript.objects.get(call=call)
    assert transcript.turns == [{"speaker": "agent", "text": "Hello"},
                                {"speaker": "contact", "text": "Call me tomorrow"}]
    assert (transcript.analysis_status, transcript.extracted) == (
        "completed", {"intent": "call_back"})
    call.refresh_from_db()
    assert call.cost == Decimal("4.5")


def test_the_same_event_delivered_twice_changes_nothing_the_second_time(client, call, run):
    events = lifecycle(call)
    for payload in events:
        run(voice, client, payload)
    once = state(call)
    again = [run(voice, client, payload) for payload in events]
    assert {r.status_code for r in again} == {200}
    assert all(r.json()["duplicate"] for r in again)
    assert ProviderEvent.objects.count() == 4
    assert state(call) == once


def test_events_out_of_order_leave_the_same_state_as_in_order(client, call, run):
    events = lifecycle(call)
    for payload in reversed(events):  # completed first, ringing last
        run(voice, client, payload)
    reversed_state = state(call)
    assert reversed_state["status"] == S.COMPLETED
    assert (reversed_state["duration"], reversed_state["charged"]) == (95, Decimal(20))
    assert reversed_state["balance"] == Decimal(80)
    assert set(ProviderEvent.objects.values_list("status", flat=True)) == {"processed"}


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "garbage"])
def test_a_bad_signature_is_403_and_stores_and_changes_nothing(client, call, run, signature):
    before = state(call)
    response = run(voice, client, lifecycle(call)[3], signature=signature)
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature"
    assert not ProviderEvent.objects.exists()
    assert state(call) == before


def test_a_body_changed_after_signing_is_refused(client, call, run):
    payload = lifecycle(call)[3]
    signature = sign(json.dumps(payload).encode())
    payload["conversation_duration"] = 5
    assert run(voice, client, payload, signature=signature).status_code == 403
    assert not ProviderEvent.objects.exists()


def test_not_a_json_execution_is_400_after_the_signature(client, call):
    body = b"not json"
    response = client.generic("POST", VOICE_URL, body, content_type="application/json",
                              HTTP_X_BOLNA_SIGNATURE=sign(body))
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_without_a_secret_configured_voice_webhooks_answer_503(client, call, settings):
    settings.CRM_VOICE_WEBHOOK_SECRET = ""
    assert voice(client, lifecycle(call)[0]).status_code == 503
    assert not ProviderEvent.objects.exists()


# --- Twilio ------------------------------------------------------------------------------------


def status(sid, call_status, sequence, **extra):
    return {"CallSid": sid, "CallStatus": call_status, "SequenceNumber": str(sequence),
            "AccountSid": "AC" + "1" * 32, "Timestamp": f"Sun, 29 Nov 2026 10:00:0{sequence} +0000",
            **extra}


def test_twilio_no_answer_counts_once_however_often_it_is_delivered(client, call, run):
    Call.objects.filter(pk=call.pk).update(provider_call_sid=SID)
    for params in (status(SID, "ringing", 0), status(SID, "no-answer", 1),
                   status(SID, "no-answer", 1)):
        response = run(twilio, client, params)
        assert response.status_code in (200, 202), response.content
    after = state(call)
    assert (after["status"], after["not_connected"], after["balance"]) == (
        S.NO_ANSWER, 1, Decimal(100))
    assert ProviderEvent.objects.filter(provider="twilio").count() == 2


def test_twilio_completed_sets_the_duration_and_settles(client, call, run):
    Call.objects.filter(pk=call.pk).update(provider_call_sid=SID)
    run(twilio, client, status(SID, "in-progress", 1))
    run(twilio, client, status(SID, "completed", 2, CallDuration="181"))
    after = state(call)  # 181 s = 4 started minutes x 10
    assert (after["status"], after["duration"], after["charged"], after["balance"]) == (
        S.COMPLETED, 181, Decimal(40), Decimal(60))


@pytest.mark.parametrize("forge", ["other-token", "other-url", "tampered"])
def test_a_bad_twilio_signature_is_403_and_changes_nothing(client, call, run, forge):
    Call.objects.filter(pk=call.pk).update(provider_call_sid=SID)
    params = status(SID, "completed", 2, CallDuration="60")
    url = PUBLIC_BASE + TWILIO_PATH
    signature = {"other-token": twilio_signature(url, params, token="1" * 32),
                 "other-url": twilio_signature("https://evil.example" + TWILIO_PATH, params),
                 "tampered": twilio_signature(url, {**params, "CallDuration": "1"})}[forge]
    before = state(call)
    response = run(twilio, client, params, signature=signature)
    assert response.status_code == 403
    assert not ProviderEvent.objects.exists()
    assert state(call) == before


def test_a_twilio_event_before_the_call_sid_is_known_is_applied_once_it_is(client, call, run):
    # Twilio says no-answer before Bolna has told us the call's SID: kept as ignored...
    run(twilio, client, status(SID, "no-answer", 3))
    assert ProviderEvent.objects.get().status == "ignored"
    assert state(call)["status"] == S.QUEUED
    # ...then Bolna's ringing event carries the SID: the waiting event is applied.
    ex = call.provider_execution_id
    run(voice, client, execution(ex, "ringing", call_sid=SID,
                                 updated_at="2026-11-29T10:00:01+00:00"))
    after = state(call)
    assert (after["status"], after["not_connected"]) == (S.NO_ANSWER, 1)
    assert set(ProviderEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_a_webhook_that_beats_the_saved_execution_id_finds_its_call(client, call, run):
    ex = call.provider_execution_id
    Call.objects.filter(pk=call.pk).update(provider_execution_id="")
    run(voice, client, execution(ex, "busy", user_data={"synapscale_call": call.pk},
                                 updated_at="2026-11-29T10:00:02+00:00"))
    call.refresh_from_db()
    assert (call.provider_execution_id, call.status) == (ex, S.BUSY)


def test_a_task_delivered_twice_applies_its_event_once(client, call, run):
    run(voice, client, execution(call.provider_execution_id, "no-answer",
                                 updated_at="2026-11-29T10:00:02+00:00"))
    event = ProviderEvent.objects.get()
    assert webhooks.process_event(event.pk) == "processed"
    assert webhooks.process_event(event.pk, replay=True) == "processed"
    assert state(call)["not_connected"] == 1

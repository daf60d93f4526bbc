"""POST /api/v1/hooks/agents/<token>/: a delivery starts one conversation (per
Idempotency-Key) answered on a worker; everything else is a structured error, never a 500."""

import hashlib
import hmac
import json

import pytest
from rest_framework.test import APIClient

from agents.models import Agent, AgentTrigger, Conversation
from agents.services import triggers
from agents.tasks import triggers as trigger_tasks
from tests.factories import SecretFactory
from workspaces.services.vault import encrypt

from .test_triggers import ready_agent

pytestmark = pytest.mark.django_db
SECRET = "whsec-" + "a" * 30


@pytest.fixture
def agent():
    return ready_agent()


@pytest.fixture
def hook(agent):
    return triggers.trigger_create(agent=agent, kind=AgentTrigger.Kind.WEBHOOK,
                                   config={"message_field": "text", "max_body_bytes": 2048})


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(trigger_tasks.answer, "delay", lambda *args: calls.append(args))
    return calls


def deliver(client, trigger, data=None, *, raw: bytes | None = None, **headers):
    body = raw if raw is not None else json.dumps(data or {}).encode()
    return client.generic("POST", f"/api/v1/hooks/agents/{trigger.webhook_token}/", body,
                          content_type="application/json", **headers)


def test_a_delivery_starts_a_conversation_answered_on_a_worker(
        client, hook, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, hook, {"text": "My order 1042 is late", "extra": 1})
    assert response.status_code == 202, response.content
    conversation = Conversation.objects.get()
    assert response.json() == {"conversation": conversation.pk, "agent": hook.agent_id,
                               "created": True}
    assert conversation.channel == Conversation.Channel.WEBHOOK
    assert conversation.title == "My order 1042 is late"
    assert queued == [(conversation.pk, "My order 1042 is late")]


def test_the_same_idempotency_key_returns_the_first_conversation(client, hook, queued):
    first = deliver(client, hook, {"text": "hello"}, HTTP_IDEMPOTENCY_KEY="delivery-1")
    again = deliver(client, hook, {"text": "hello"}, HTTP_IDEMPOTENCY_KEY="delivery-1")
    other = deliver(client, hook, {"text": "hello"}, HTTP_IDEMPOTENCY_KEY="delivery-2")
    unkeyed = [deliver(client, hook, {"text": "hello"}) for _ in range(2)]
    assert first.json()["conversation"] == again.json()["conversation"]
    assert (first.json()["created"], again.json()["created"]) == (True, False)
    assert other.json()["conversation"] != first.json()["conversation"]
    assert {r.status_code for r in unkeyed} == {202}
    assert Conversation.objects.count() == 4


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    (b"not json", 400, "invalid_json", "body"),
    (b"[1, 2]", 400, "invalid", "body"),
    (b'{"message": "wrong field"}', 400, "invalid", "text"),
    (b'{"text": "   "}', 400, "invalid", "text"),
    (b'{"text": 42}', 400, "invalid", "text"),
    (b'{"text": "' + b"x" * 3000 + b'"}', 413, "too_large", None),
])
def test_a_bad_body_gets_a_structured_error(client, hook, queued, body, status, code, field):
    response = deliver(client, hook, raw=body)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    if field:
        assert field in response.json()["errors"]
    assert not Conversation.objects.exists()


def test_unknown_disabled_and_non_webhook_addresses_are_not_found(client, hook, agent, queued):
    schedule = triggers.trigger_create(
        agent=agent, kind=AgentTrigger.Kind.SCHEDULE,
        config={"cron": "0 8 * * *", "message": "hi"})
    response = client.post("/api/v1/hooks/agents/no-such-token/", {"text": "hi"},
                           format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert deliver(client, schedule, {"text": "hi"}).status_code == 404
    triggers.trigger_update(hook, enabled=False)
    assert deliver(client, hook, {"text": "hi"}).status_code == 404
    assert not Conversation.objects.exists()


@pytest.mark.parametrize("state", ["paused", "unpublished"])
def test_an_agent_that_is_not_ready_refuses_deliveries(client, hook, agent, queued, state):
    change = {"status": Agent.Status.PAUSED} if state == "paused" else \
        {"live_configuration": None}
    Agent.objects.filter(pk=agent.pk).update(**change)
    response = deliver(client, hook, {"text": "hi"})
    assert response.status_code == 409 and response.json()["code"] == "agent_not_ready"


def test_hmac_and_token_webhooks_want_the_vault_secret(client, agent, queued):
    secret = SecretFactory(workspace=agent.workspace, ciphertext=encrypt(SECRET))
    signed = triggers.trigger_create(agent=agent, kind=AgentTrigger.Kind.WEBHOOK,
                                     config={"auth": "hmac", "secret": secret.pk})
    bearer = triggers.trigger_create(agent=agent, kind=AgentTrigger.Kind.WEBHOOK,
                                     config={"auth": "token", "secret": secret.pk})
    body = json.dumps({"message": "hi"}).encode()
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()

    assert deliver(client, signed, raw=body).status_code == 401
    wrong = deliver(client, signed, raw=body, HTTP_X_SYNAPSCALE_SIGNATURE="sha256=00")
    assert wrong.status_code == 401 and wrong.json()["code"] == "not_authenticated"
    assert SECRET not in wrong.content.decode()
    assert deliver(client, signed, raw=body, HTTP_X_SYNAPSCALE_SIGNATURE=good).status_code == 202

    assert deliver(client, bearer, raw=body, HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    assert deliver(client, bearer, raw=body,
                   HTTP_AUTHORIZATION=f"Bearer {SECRET}").status_code == 202
    assert Conversation.objects.count() == 2


def test_a_declared_length_over_the_limit_is_refused_before_reading(client, hook, queued):
    response = client.generic("POST", f"/api/v1/hooks/agents/{hook.webhook_token}/", b"{}",
                              content_type="application/json", CONTENT_LENGTH="999999")
    assert response.status_code == 413
    response = client.generic("POST", f"/api/v1/hooks/agents/{hook.webhook_token}/", b"{}",
                              content_type="application/json", CONTENT_LENGTH="lots")
    assert response.status_code == 400

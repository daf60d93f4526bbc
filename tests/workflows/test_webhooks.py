"""POST /api/v1/hooks/workflows/<token>/: signed deliveries start one execution each
(per Idempotency-Key), everything else gets a structured error and never a 500."""

import hashlib
import hmac
import json

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.factories.workflows import WorkflowFactory, WorkflowVersionFactory
from workflows.models import Execution, Trigger, Workflow
from workflows.services import triggers

pytestmark = pytest.mark.django_db
SCHEMA = {"type": "object", "required": ["customer"],
          "properties": {"customer": {"type": "string"}, "amount": {"type": "number"}}}


@pytest.fixture
def workflow():
    workflow = WorkflowFactory(status=Workflow.Status.ACTIVE, input_schema=SCHEMA)
    WorkflowVersionFactory(workspace=workflow.workspace, workflow=workflow, number=1)
    return workflow


@pytest.fixture
def hook(workflow):
    return triggers.trigger_create(workflow=workflow, kind=Trigger.Kind.WEBHOOK,
                                   config={"max_body_bytes": 2048})


@pytest.fixture
def client():
    return APIClient()


def url(trigger) -> str:
    return f"/api/v1/hooks/workflows/{trigger.webhook_token}/"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(client, trigger, data=None, *, raw: bytes | None = None, secret=None, **headers):
    body = raw if raw is not None else json.dumps(data or {}).encode()
    if secret is not False:
        headers.setdefault("HTTP_X_SYNAPSCALE_SIGNATURE",
                           sign(secret or trigger.new_secret, body))
    return client.generic("POST", url(trigger), body, content_type="application/json",
                          **headers)


def test_a_signed_delivery_starts_an_execution_with_the_body_as_input(client, hook):
    response = deliver(client, hook, {"customer": "ACME", "amount": 12.5})
    assert response.status_code == 202, response.content
    execution = Execution.objects.get()
    assert response.json() == {"execution": execution.pk, "status": execution.status,
                               "trace_id": execution.trace_id}
    assert (execution.source, execution.trigger_id, execution.input) == \
        (Execution.Source.WEBHOOK, hook.pk, {"customer": "ACME", "amount": 12.5})


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "md5=abc", "sha256=zz"])
def test_a_bad_or_missing_signature_is_refused(client, hook, signature):
    response = deliver(client, hook, {"customer": "ACME"},
                       HTTP_X_SYNAPSCALE_SIGNATURE=signature)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert not Execution.objects.exists()


def test_a_body_signed_with_another_secret_or_changed_after_signing_is_refused(client, hook):
    assert deliver(client, hook, {"customer": "ACME"},
                   secret="someone-elses-secret-value").status_code == 401
    body = json.dumps({"customer": "ACME"}).encode()
    assert deliver(client, hook, raw=body.replace(b"ACME", b"EVIL"),
                   HTTP_X_SYNAPSCALE_SIGNATURE=sign(hook.new_secret, body)).status_code == 401


def test_token_webhooks_take_the_secret_as_a_bearer_token(client, workflow):
    hook = triggers.trigger_create(workflow=workflow, kind=Trigger.Kind.WEBHOOK,
                                   config={"auth": "token"})
    body = {"customer": "ACME"}
    good = deliver(client, hook, body, secret=False,
                   HTTP_AUTHORIZATION=f"Bearer {hook.new_secret}")
    bad = deliver(client, hook, body, secret=False, HTTP_AUTHORIZATION="Bearer nope")
    signed_only = deliver(client, hook, body)  # an HMAC does not do for a token webhook
    assert (good.status_code, bad.status_code, signed_only.status_code) == (202, 401, 401)
    assert Execution.objects.count() == 1


def test_the_same_idempotency_key_twice_starts_one_execution(client, hook):
    first = deliver(client, hook, {"customer": "ACME"}, HTTP_IDEMPOTENCY_KEY="delivery-42")
    again = deliver(client, hook, {"customer": "ACME"}, HTTP_IDEMPOTENCY_KEY="delivery-42")
    other = deliver(client, hook, {"customer": "ACME"}, HTTP_IDEMPOTENCY_KEY="delivery-43")
    assert (first.status_code, again.status_code, other.status_code) == (202, 202, 202)
    assert first.json()["execution"] == again.json()["execution"] != other.json()["execution"]
    assert Execution.objects.count() == 2
    assert Execution.objects.get(pk=first.json()["execution"]).idempotency_key == "delivery-42"


def test_without_a_key_each_delivery_is_its_own_execution(client, hook):
    deliver(client, hook, {"customer": "ACME"})
    deliver(client, hook, {"customer": "ACME"})
    assert Execution.objects.count() == 2


def test_a_body_over_the_limit_is_refused_with_413(client, hook):
    response = deliver(client, hook, {"customer": "x" * 4000})
    assert response.status_code == 413
    assert response.json()["code"] == "too_large" and "2048 bytes" in response.json()["message"]
    assert not Execution.objects.exists()


@pytest.mark.parametrize(("raw", "code"), [
    (b"{not json", "invalid_json"),
    (b"\xff\xfe\x00", "invalid_json"),
    (b"[1, 2]", "invalid"),
    (b'"text"', "invalid"),
])
def test_a_body_that_is_not_a_json_object_is_refused_with_400(client, hook, raw, code):
    response = deliver(client, hook, raw=raw)
    assert response.status_code == 400
    assert response.json()["code"] == code and "body" in response.json()["errors"]


def test_input_against_the_workflows_schema_is_refused_naming_the_field(client, hook):
    response = deliver(client, hook, {"amount": "lots"})
    assert response.status_code == 400
    assert "input" in response.json()["errors"]
    assert "customer" in json.dumps(response.json()["errors"])
    assert not Execution.objects.exists()


def test_an_unknown_or_disabled_webhook_is_404(client, hook):
    gone = APIClient().post("/api/v1/hooks/workflows/no-such-token/", {}, format="json")
    triggers.trigger_update(hook, enabled=False)
    disabled = deliver(client, hook, {"customer": "ACME"})
    assert (gone.status_code, disabled.status_code) == (404, 404)
    assert gone.json()["code"] == "not_found"


def test_a_paused_workflow_answers_409_and_an_archived_one_404(client, hook, workflow):
    Workflow.objects.filter(pk=workflow.pk).update(status=Workflow.Status.PAUSED)
    paused = deliver(client, hook, {"customer": "ACME"})
    assert paused.status_code == 409 and paused.json()["code"] == "workflow_not_active"
    Workflow.objects.filter(pk=workflow.pk).update(status=Workflow.Status.ARCHIVED)
    assert deliver(client, hook, {"customer": "ACME"}).status_code == 404
    assert not Execution.objects.exists()


def test_the_secret_is_checked_before_the_workflows_state_is_told(client, hook, workflow):
    Workflow.objects.filter(pk=workflow.pk).update(status=Workflow.Status.PAUSED)
    assert deliver(client, hook, {"customer": "ACME"}, secret="not-the-secret-at-all") \
        .status_code == 401


def test_an_overlong_idempotency_key_is_refused(client, hook):
    response = deliver(client, hook, {"customer": "ACME"}, HTTP_IDEMPOTENCY_KEY="k" * 201)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["errors"]


def test_deliveries_to_one_webhook_are_throttled(client, hook, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"workflow_webhook": "2/min"})
    codes = [deliver(client, hook, {"customer": "ACME"}).status_code for _ in range(3)]
    assert codes == [202, 202, 429]


@pytest.mark.parametrize("headers", [
    {"HTTP_X_SYNAPSCALE_SIGNATURE": "sha256=\udcff"},
    {"HTTP_AUTHORIZATION": "Bearer"},
    {"HTTP_IDEMPOTENCY_KEY": "\x00"},
    {"CONTENT_LENGTH": "not-a-number"},
    {"CONTENT_TYPE": "text/plain"},
])
def test_odd_requests_never_answer_500(client, hook, headers):
    response = deliver(client, hook, {"customer": "ACME"}, **headers)
    assert response.status_code < 500
    response = APIClient().get(url(hook))
    assert response.status_code == 405


@pytest.mark.parametrize("raw, code", [(b"[" * 100_000, "too_deep"),
                                       (b'{"customer": "\\ud800x"}', "invalid_text"),
                                       (b'{"customer": ', "invalid_json")])
def test_a_signed_body_that_is_not_usable_json_is_a_clear_400(client, hook, raw, code):
    hook.workflow.triggers.filter(pk=hook.pk).update(config={"max_body_bytes": 200_000})
    hook.refresh_from_db()
    hook.new_secret = triggers.trigger_set_secret(hook)
    response = deliver(client, hook, raw=raw)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert not Execution.objects.exists()

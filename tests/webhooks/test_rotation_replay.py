"""Rotation (both secrets verify during the grace period, the old one not after), replays
with the same webhook id, and test events."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.contract.isolation import make_tenant
from tests.factories.webhooks import SECRET, WebhookEndpointFactory
from webhooks.models import WebhookDelivery, WebhookMessage
from webhooks.services import delivery, endpoints

from .receiver import verified, verifies
from .support import emit, only_delivery

pytestmark = pytest.mark.django_db
LIST = "/api/v1/webhooks/endpoints/"
Status = WebhookDelivery.Status


@pytest.fixture
def tenant(db):
    return make_tenant()


@pytest.fixture
def mine(tenant, hook):
    return WebhookEndpointFactory(workspace=tenant.workspace, url=hook.url())


def test_after_rotation_both_secrets_verify_during_the_window_and_the_old_one_not_after(
        tenant, mine, hook, committed, settings):
    settings.WEBHOOKS_RETRY_JITTER = 0
    response = tenant.clients["admin"].post(f"{LIST}{mine.pk}/rotate-secret/",
                                            {"grace_seconds": 3600}, format="json")
    assert response.status_code == 200, response.content
    new = response.json()["signing_secret"]
    assert new.startswith("whsec_") and new != SECRET
    mine.refresh_from_db()
    expires = mine.previous_secret_expires_at
    hook.statuses = [500, 500]
    committed(emit, tenant.workspace)  # sent within the window
    during = hook.received[0]
    assert len(during["headers"]["webhook-signature"].split()) == 2
    assert verifies(during, new) and verifies(during, SECRET)
    # A retry after the window is signed with the new secret alone.
    retry = only_delivery(mine)
    committed(delivery.deliver, retry.pk, now=max(retry.next_attempt_at,
                                                  expires + timedelta(seconds=1)))
    after = hook.received[1]
    assert after["headers"]["webhook-id"] == during["headers"]["webhook-id"]
    assert verifies(after, new) and not verifies(after, SECRET)


def test_a_rotation_without_grace_stops_the_old_secret_at_once(mine, hook, committed):
    _, new = endpoints.endpoint_rotate_secret(endpoint=mine, grace_seconds=0)
    committed(emit, mine.workspace)
    assert verifies(hook.received[0], new) and not verifies(hook.received[0], SECRET)


def test_replaying_a_delivery_resends_the_same_message_id(tenant, mine, hook, committed):
    committed(emit, tenant.workspace, "again")
    original = only_delivery(mine)
    response = committed(tenant.clients["admin"].post,
                         f"/api/v1/webhooks/deliveries/{original.pk}/replay/")
    assert response.status_code == 202, response.content
    replay = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert replay.replay_of == original and replay.message_id == original.message_id
    assert replay.status == Status.SUCCEEDED  # sent once committed
    assert len(hook.received) == 2 and hook.ids()[0] == hook.ids()[1]
    assert verified(hook.received[1], SECRET)["data"]["message"] == "again"
    member = tenant.clients["member"]
    assert member.post(f"/api/v1/webhooks/deliveries/{original.pk}/replay/").status_code == 403
    assert make_tenant().clients["owner"].post(
        f"/api/v1/webhooks/deliveries/{original.pk}/replay/").status_code == 404


def test_replay_since_sends_again_what_failed_or_everything(
        tenant, mine, hook, committed, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0]  # one attempt: a failure is final
    start = timezone.now() - timedelta(seconds=1)
    hook.statuses = [500]
    committed(emit, tenant.workspace, "failed")
    committed(emit, tenant.workspace, "succeeded")
    assert sorted(WebhookDelivery.objects.values_list("status", flat=True)) == \
        [Status.EXHAUSTED, Status.SUCCEEDED]
    client = tenant.clients["admin"]
    url = f"{LIST}{mine.pk}/replay-since/"
    failed = committed(client.post, url, {"since": start.isoformat(), "failed_only": True},
                       format="json")
    assert failed.status_code == 202 and failed.json()["count"] == 1
    assert verified(hook.received[-1], SECRET)["data"]["message"] == "failed"
    everything = committed(client.post, url, {"since": start.isoformat()}, format="json")
    assert everything.json()["count"] == 2
    assert len(hook.received) == 5
    later = committed(client.post, url, {"since": (timezone.now() + timedelta(hours=1))
                                         .isoformat()}, format="json")
    assert later.json()["count"] == 0
    bad = client.post(url, {"since": "yesterday"}, format="json")
    assert bad.status_code == 400 and "since" in bad.json()["errors"]


def test_nothing_is_replayed_to_a_disabled_endpoint(tenant, mine, committed):
    endpoints.endpoint_disable(endpoint=mine)
    response = tenant.clients["admin"].post(f"{LIST}{mine.pk}/send-test/")
    assert response.status_code == 409 and response.json()["code"] == "endpoint_disabled"


def test_send_test_reaches_that_endpoint_only(tenant, mine, hook, committed):
    WebhookEndpointFactory(workspace=tenant.workspace, url=hook.url("/other"))
    response = committed(tenant.clients["admin"].post, f"{LIST}{mine.pk}/send-test/")
    assert response.status_code == 202, response.content
    assert WebhookDelivery.objects.get(pk=response.json()["id"]).status == Status.SUCCEEDED
    assert [r["path"] for r in hook.received] == ["/hook"]
    body = verified(hook.received[0], SECRET)
    assert body["type"] == "webhooks.test" and body["data"]["endpoint"] == mine.pk
    assert WebhookMessage.objects.get().event_type == "webhooks.test"


def test_an_endpoint_enabled_again_resumes_its_waiting_deliveries(mine, hook, committed):
    hook.statuses = [500]
    committed(emit, mine.workspace)
    endpoints.endpoint_disable(endpoint=mine)
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert delivery.due_ids(timezone.now(), 10) == []  # disabled: nothing due
    committed(endpoints.endpoint_enable, endpoint=mine)
    assert only_delivery(mine).status == Status.SUCCEEDED
    assert len(hook.received) == 2


def test_messages_deliveries_and_attempts_are_read_only_and_scoped(tenant, mine, committed):
    committed(emit, tenant.workspace)
    viewer = tenant.clients["viewer"]
    stranger = make_tenant().clients["owner"]
    for resource in ("messages", "deliveries", "attempts"):
        url = f"/api/v1/webhooks/{resource}/"
        rows = viewer.get(url).json()["results"]
        assert len(rows) == 1, resource
        assert stranger.get(url).json()["results"] == []
        assert tenant.clients["owner"].post(url, {}, format="json").status_code == 405
    attempt = viewer.get("/api/v1/webhooks/attempts/").json()["results"][0]
    assert attempt["request_headers"]["webhook-signature"] == "v1,redacted"


def test_vault_key_rotation_reencrypts_endpoint_secrets(mine, settings):
    from cryptography.fernet import Fernet

    from webhooks.services import signing

    endpoints.endpoint_rotate_secret(endpoint=mine, secret=SECRET.replace("M", "N"))
    old_key = settings.SECRETS_ENCRYPTION_KEYS[0]
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    assert signing.secrets_reencrypt() == 1
    settings.SECRETS_ENCRYPTION_KEYS = settings.SECRETS_ENCRYPTION_KEYS[:1]  # old key gone
    mine.refresh_from_db()
    assert signing.current_secret(mine) == SECRET.replace("M", "N")
    assert signing.signing_secrets(mine, timezone.now())[1] == SECRET


def test_rotate_secrets_reencrypts_endpoint_secrets_under_the_new_key(db, settings):
    """The vault's key rotation reaches the endpoints' signing secrets: after it, the old
    key can go and the endpoint still signs with the same secret."""
    import io

    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from webhooks.services import signing

    endpoint = WebhookEndpointFactory()
    old_key = settings.SECRETS_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)
    assert "Re-encrypted 1 webhook endpoint secret(s)." in out.getvalue()
    settings.SECRETS_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    endpoint.refresh_from_db()
    assert signing.current_secret(endpoint) == SECRET

"""Endpoints through the API: admins manage them, the secret is shown once and kept
encrypted, private addresses and bad input are 400s with nothing written, other tenants
get 404s, members and viewers 403s."""

import pytest
from django.urls import reverse

from tests.contract.isolation import make_tenant
from tests.factories.webhooks import SECRET, WebhookEndpointFactory
from webhooks.models import WebhookEndpoint
from webhooks.services import signing

pytestmark = pytest.mark.django_db
LIST = "/api/v1/webhooks/endpoints/"


def detail(endpoint, action=""):
    return f"{LIST}{endpoint.pk}/{action + '/' if action else ''}"


@pytest.fixture
def tenant(db):
    return make_tenant()


def test_an_admin_creates_an_endpoint_and_sees_its_secret_once(tenant, hook):
    client = tenant.clients["admin"]
    response = client.post(LIST, {"workspace": tenant.workspace.pk, "url": hook.url(),
                                  "event_types": ["webhooks.test"], "ordered": True},
                           format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["signing_secret"]
    assert secret.startswith("whsec_") and response["Cache-Control"] == "no-store"
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert secret not in endpoint.secret_ciphertext  # encrypted at rest
    assert signing.current_secret(endpoint) == secret
    assert endpoint.owner is not None and endpoint.is_enabled and endpoint.ordered
    shown = client.get(detail(endpoint)).json()
    assert "signing_secret" not in shown and "secret" not in shown
    assert "secret_ciphertext" not in shown
    assert secret not in str(client.get(LIST).json())


def test_a_secret_of_ones_own_is_kept_and_a_malformed_one_refused(tenant, hook):
    client = tenant.clients["admin"]
    ok = client.post(LIST, {"workspace": tenant.workspace.pk, "url": hook.url(),
                            "secret": SECRET}, format="json")
    assert ok.status_code == 201 and ok.json()["signing_secret"] == SECRET
    bad = client.post(LIST, {"workspace": tenant.workspace.pk, "url": hook.url(),
                             "secret": "hunter2"}, format="json")
    assert bad.status_code == 400 and "secret" in bad.json()["errors"]
    changed = client.patch(detail(WebhookEndpoint.objects.get()), {"secret": SECRET},
                           format="json")
    assert changed.status_code == 400 and "secret" in changed.json()["errors"]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://localhost:8000/hook", "http://169.254.169.254/latest/",
    "http://10.1.2.3/hook", "http://[::1]/hook", "http://[::ffff:192.168.0.1]/hook",
    "http://2130706433/hook",
])
def test_private_addresses_are_refused_with_a_400_naming_the_url(tenant, settings, url):
    settings.WEBHOOKS_ALLOWED_HOSTS = []
    response = tenant.clients["admin"].post(
        LIST, {"workspace": tenant.workspace.pk, "url": url}, format="json")
    assert response.status_code == 400, response.content
    assert "url" in response.json()["errors"]
    assert not WebhookEndpoint.objects.exists()


def test_changing_the_url_to_a_private_address_is_refused(tenant, settings):
    settings.WEBHOOKS_ALLOWED_HOSTS = []
    endpoint = WebhookEndpointFactory(workspace=tenant.workspace)
    response = tenant.clients["admin"].patch(detail(endpoint), {"url": "http://10.0.0.7/"},
                                             format="json")
    assert response.status_code == 400 and "url" in response.json()["errors"]
    endpoint.refresh_from_db()
    assert endpoint.url.startswith("https://hooks.example.com/")


@pytest.mark.parametrize("field, value", [
    ("event_types", ["no.such.event"]),
    ("event_types", "webhooks.test"),
    ("event_types", ["webhooks.test", "webhooks.test"]),
    ("event_types", [1]),
    ("url", "ftp://files.example.com/x"),
    ("url", "not a url"),
    ("ordered", "perhaps"),
])
def test_bad_input_is_a_400_naming_the_field_with_nothing_written(tenant, field, value):
    body = {"workspace": tenant.workspace.pk, "url": "https://hooks.example.com/x",
            field: value}
    response = tenant.clients["admin"].post(LIST, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not WebhookEndpoint.objects.exists()


def test_members_and_viewers_read_but_do_not_manage(tenant):
    endpoint = WebhookEndpointFactory(workspace=tenant.workspace)
    for role in ("member", "viewer"):
        client = tenant.clients[role]
        assert client.get(detail(endpoint)).status_code == 200
        assert client.post(LIST, {"workspace": tenant.workspace.pk,
                                  "url": "https://hooks.example.com/y"},
                           format="json").status_code == 403
        assert client.patch(detail(endpoint), {"description": "x"},
                            format="json").status_code == 403
        for action in ("rotate-secret", "enable", "disable", "send-test"):
            assert client.post(detail(endpoint, action)).status_code == 403, (role, action)
    assert tenant.key_clients["viewer"].post(detail(endpoint, "send-test")).status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.description.startswith("Receiver")


def test_another_tenant_gets_404s(tenant):
    endpoint = WebhookEndpointFactory(workspace=tenant.workspace)
    stranger = make_tenant().clients["owner"]
    assert stranger.get(detail(endpoint)).status_code == 404
    for action in ("rotate-secret", "send-test", "replay-since"):
        assert stranger.post(detail(endpoint, action)).status_code == 404
    assert stranger.get(LIST).json()["results"] == []


def test_disable_and_enable(tenant):
    endpoint = WebhookEndpointFactory(workspace=tenant.workspace, failure_count=3)
    client = tenant.clients["admin"]
    off = client.post(detail(endpoint, "disable"), {"reason": "maintenance"}, format="json")
    assert off.status_code == 200 and off.json()["is_enabled"] is False
    assert off.json()["disabled_reason"] == "maintenance"
    on = client.post(detail(endpoint, "enable")).json()
    assert on["is_enabled"] is True and on["disabled_at"] is None and on["failure_count"] == 0


def test_the_kernel_routes_the_resources():
    assert reverse("webhooks-webhookendpoint-list") == LIST
    assert reverse("webhooks-webhookdelivery-replay", args=[1]) == \
        "/api/v1/webhooks/deliveries/1/replay/"

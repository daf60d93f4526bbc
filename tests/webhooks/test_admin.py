"""The back office: adding an endpoint goes through the service (secret shown once,
private addresses refused), the actions run the services, and "replay since…" is a
page with a form."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from tests.factories import WorkspaceFactory
from tests.factories.webhooks import SECRET, WebhookEndpointFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import signing

from .receiver import verifies
from .support import emit, only_delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_adding_an_endpoint_shows_its_secret_once(admin_client, hook):
    workspace = WorkspaceFactory()
    response = admin_client.post(reverse("admin:webhooks_webhookendpoint_add"), {
        "workspace": workspace.pk, "url": hook.url(), "description": "Orders",
        "event_types": "[]"}, follow=True)
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    secret = signing.current_secret(endpoint)
    assert any(secret in text for text in _messages(response))
    assert secret not in admin_client.get(
        reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])).content.decode()


def test_the_admin_refuses_a_private_address(admin_client, settings):
    settings.WEBHOOKS_ALLOWED_HOSTS = []
    response = admin_client.post(reverse("admin:webhooks_webhookendpoint_add"), {
        "workspace": WorkspaceFactory().pk, "url": "http://169.254.169.254/latest/",
        "event_types": "[]"})
    assert response.status_code == 200  # the form again, with the error
    assert "link-local" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_actions_send_a_test_event_and_rotate_the_secret(admin_client, hook, endpoint,
                                                         committed):
    changelist = reverse("admin:webhooks_webhookendpoint_changelist")
    committed(admin_client.post, changelist,
              {"action": "send_test_event", "_selected_action": [endpoint.pk]})
    assert len(hook.received) == 1 and verifies(hook.received[0], SECRET)
    response = admin_client.post(changelist, {"action": "rotate_secrets",
                                              "_selected_action": [endpoint.pk]}, follow=True)
    endpoint.refresh_from_db()
    assert any(signing.current_secret(endpoint) in text for text in _messages(response))
    admin_client.post(changelist, {"action": "disable_endpoints",
                                   "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled


def test_replay_failed_since_and_the_delivery_page(admin_client, hook, endpoint, committed,
                                                   settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0]
    hook.statuses = [500]
    committed(emit, endpoint.workspace)
    failed = only_delivery(endpoint)
    page = reverse("admin:webhooks_webhookendpoint_replay", args=[endpoint.pk])
    assert admin_client.get(page).status_code == 200
    since = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    response = committed(admin_client.post, page, {"since": since, "failed_only": "on"})
    assert response.status_code == 302
    assert WebhookDelivery.objects.get(replay_of=None, pk__gt=failed.pk).status == "succeeded"
    assert hook.ids()[0] == hook.ids()[1]
    delivery_page = admin_client.get(
        reverse("admin:webhooks_webhookdelivery_change", args=[failed.pk])).content.decode()
    assert "v1,redacted" in delivery_page and "500" in delivery_page


def test_staff_of_another_workspace_get_404_on_the_replay_page(client, endpoint):
    from django.contrib.auth.models import Permission

    from tests.factories import MembershipFactory, UserFactory

    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(
        content_type__app_label="webhooks"))
    MembershipFactory(user=staff, workspace=WorkspaceFactory(), role="owner")
    client.force_login(staff)
    page = reverse("admin:webhooks_webhookendpoint_replay", args=[endpoint.pk])
    assert client.get(page).status_code == 404
    mine = WebhookEndpointFactory(workspace=staff.memberships.get().workspace)
    page = reverse("admin:webhooks_webhookendpoint_replay", args=[mine.pk])
    assert client.get(page).status_code == 200


def test_staff_who_are_members_only_are_refused_by_the_service(client, hook, endpoint,
                                                               committed):
    from django.contrib.auth.models import Permission

    from tests.factories import MembershipFactory, UserFactory

    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="webhooks"))
    MembershipFactory(user=staff, workspace=endpoint.workspace, role="member")
    client.force_login(staff)
    response = committed(client.post, reverse("admin:webhooks_webhookendpoint_changelist"),
                         {"action": "send_test_event", "_selected_action": [endpoint.pk]},
                         follow=True)
    assert response.status_code == 200
    assert any("admins" in text for text in _messages(response))
    assert hook.received == [] and not WebhookDelivery.objects.exists()

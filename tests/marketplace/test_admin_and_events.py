"""The back office (publish, yank, buy and install for a workspace, upgrade) and the
domain events the marketplace registers and emits."""

import pytest
from django.test import Client

from billing.services import credits
from core import events
from marketplace.events import INSTALLED, PURCHASED, UPGRADED
from marketplace.models import ComponentInstallation, ComponentVersion
from marketplace.services.catalogue import version_publish
from marketplace.services.installs import component_install
from marketplace.services.purchases import component_purchase
from tests.factories.marketplace import MarketplaceComponentFactory, workflow_payload

from .conftest import catalogue_staff, component_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(catalogue_staff())
    return client


def test_staff_publish_and_yank_in_the_admin(admin_client):
    import json

    component = MarketplaceComponentFactory()
    url = "/admin/marketplace/componentversion/add/"
    body = {"component": component.pk, "changelog": "First",
            "payload": json.dumps(workflow_payload("Greeter"))}
    admin_client.post(url, {**body, "version": "1.0"}, follow=True)
    assert not ComponentVersion.objects.exists()
    assert admin_client.post(url, {**body, "version": "1.0.0"}).status_code == 302
    version = ComponentVersion.objects.get()
    assert version.sequence == 1 and version.published_at
    page = f"/admin/marketplace/componentversion/{version.pk}/yank/"
    assert admin_client.get(page).status_code == 200
    admin_client.post(page, {"reason": "Broken"})
    version.refresh_from_db()
    assert version.yanked and version.yanked_reason == "Broken"
    for path in ("component", "componentversion", "componentrating", "componentpurchase",
                 "componentinstallation", "componentdownload"):
        name = "marketplacecomponent" if path == "component" else path
        assert admin_client.get(f"/admin/marketplace/{name}/").status_code == 200


def test_the_admin_upgrade_action(superuser, ws, roles):
    # Staff who are not superusers see only their own workspaces' rows in the admin.
    admin_client = Client()
    admin_client.force_login(superuser)
    component = component_with(("1.0.0",))
    installation = component_install(workspace=ws, component=component, by=roles["member"])
    version_publish(component=component, version="1.1.0",
                    payload=workflow_payload(component.name, extra_node=True))
    admin_client.post("/admin/marketplace/componentinstallation/",
                      {"action": "upgrade_selected", "_selected_action": [installation.pk]})
    installation.refresh_from_db()
    assert installation.version.version == "1.1.0"


def test_events_are_registered_with_a_schema_and_emitted(ws, roles, paid, free,
                                                        django_capture_on_commit_callbacks):
    registered = events.registered()
    for name in (PURCHASED, INSTALLED, UPGRADED):
        assert registered[name].schema["type"] == "object"
    seen = []
    events.subscribe(seen.append)
    try:
        credits.topup(ws.pk, 2500, reference="pay_1")
        with django_capture_on_commit_callbacks(execute=True):
            component_purchase(workspace=ws, component=paid, by=roles["admin"])
            component_install(workspace=ws, component=free, by=roles["member"])
    finally:
        events.unsubscribe(seen.append)
    mine = [e for e in seen if e.name.startswith("marketplace.")]
    assert [e.name for e in mine] == [PURCHASED, INSTALLED]
    assert mine[0].payload["price"] == 2500 and mine[0].payload["method"] == "credits"
    assert mine[1].payload["workflow"] == ComponentInstallation.objects.get().workflow_id
    for event in mine:
        events.validate(event.name, event.payload)

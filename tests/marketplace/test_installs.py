"""Installing components as draft workflows, and upgrading them: a paid component needs
its purchase on every door; yanked versions and deprecated components are refused."""

import io

import pytest
from django.core.management import CommandError, call_command

from billing.services import credits
from marketplace.models import ComponentDownload, ComponentInstallation
from marketplace.services.catalogue import version_publish, version_yank
from marketplace.services.installs import component_install, installation_upgrade
from marketplace.services.purchases import component_purchase
from tests import factories as f
from tests.factories.marketplace import workflow_payload
from workflows.graph import graph_problems
from workflows.models import Workflow, WorkflowVersion
from workflows.services.definitions import node_update, workflow_publish
from workflows.snapshot import graph_snapshot
from workspaces.models import Secret

from .conftest import API, client_for, component_with

pytestmark = pytest.mark.django_db


def install(client, component, workspace, **extra):
    return client.post(f"{API}/components/{component.pk}/install/",
                       {"workspace": workspace.pk, **extra}, format="json")


def test_install_creates_a_working_draft_workflow(ws, roles, free):
    answer = install(client_for(roles["member"]), free, ws)
    assert answer.status_code == 201, answer.content
    installation = ComponentInstallation.objects.get(pk=answer.json()["id"])
    workflow = installation.workflow
    assert workflow.workspace_id == ws.pk and workflow.status == "draft"
    assert workflow.name == "Free greeter" and workflow.version == 0  # never published
    graph = graph_snapshot(workflow)
    assert [n["key"] for n in graph["nodes"]] == ["greet", "start"]
    assert graph_problems(graph) == []
    assert graph["nodes"][0]["config"] == {"values": {"greeting": "hi 1.0.0"}}
    assert workflow_publish(workflow=workflow).number == 1  # it publishes as it is
    download = ComponentDownload.objects.get()
    assert (download.kind, download.version_id, download.by_id) == \
        ("install", installation.version_id, roles["member"].pk)
    free.refresh_from_db()
    assert free.downloads_count == 1


def test_a_secret_reference_installs_as_a_reference_to_the_workspaces_vault(ws, roles):
    component = component_with(versions=())
    payload = workflow_payload("Mailer")
    payload["graph"]["nodes"][1]["config"] = {"values": {"token": "{{ secrets.MAIL_TOKEN }}"}}
    version_publish(component=component, version="1.0.0", payload=payload)
    installation = component_install(workspace=ws, component=component, by=roles["member"])
    node = installation.workflow.nodes.get(key="greet")
    assert node.config == {"values": {"token": "{{ secrets.MAIL_TOKEN }}"}}
    assert not Secret.objects.filter(workspace=ws).exists()  # nothing of the publisher's


def test_a_name_already_used_is_400_unless_another_is_given(ws, roles, free):
    client = client_for(roles["member"])
    assert install(client, free, ws).status_code == 201
    clash = install(client, free, ws)
    assert clash.status_code == 400 and "name" in clash.json()["errors"]
    renamed = install(client, free, ws, name="Greeter for sales")
    assert renamed.status_code == 201
    assert Workflow.objects.filter(workspace=ws).count() == 2


def test_a_paid_component_is_not_installed_through_the_api_without_its_purchase(
        ws, roles, paid):
    client = client_for(roles["owner"])
    refused = install(client, paid, ws)
    assert refused.status_code == 402 and refused.json()["code"] == "purchase_required"
    assert not Workflow.objects.filter(workspace=ws).exists()
    credits.topup(ws.pk, 2500, reference="pay_1")
    component_purchase(workspace=ws, component=paid, by=roles["owner"])
    assert install(client, paid, ws).status_code == 201


def test_a_paid_component_is_not_installed_through_the_admin_without_its_purchase(
        ws, paid, superuser):
    from django.test import Client

    admin = Client()
    admin.force_login(superuser)
    url = "/admin/marketplace/componentinstallation/add/"
    answer = admin.post(url, {"workspace": ws.pk, "component": paid.pk, "version": "",
                              "name": ""}, follow=True)
    assert "purchase" in answer.content.decode().lower()
    assert not ComponentInstallation.objects.exists()
    assert not Workflow.objects.filter(workspace=ws).exists()
    credits.topup(ws.pk, 2500, reference="pay_1")
    bought = admin.post("/admin/marketplace/componentpurchase/add/",
                        {"workspace": ws.pk, "component": paid.pk, "method": "credits"})
    assert bought.status_code == 302
    admin.post(url, {"workspace": ws.pk, "component": paid.pk, "version": "", "name": ""})
    assert ComponentInstallation.objects.filter(workspace=ws, component=paid).count() == 1
    assert credits.balance(ws.pk) == 0


def test_a_paid_component_is_not_installed_by_the_command_without_its_purchase(ws, paid):
    with pytest.raises(CommandError, match="purchase_required"):
        call_command("marketplace_install", "--workspace", ws.pk, "--component", paid.slug)
    assert not Workflow.objects.filter(workspace=ws).exists()
    credits.topup(ws.pk, 2500, reference="pay_1")
    component_purchase(workspace=ws, component=paid)
    out = io.StringIO()
    call_command("marketplace_install", "--workspace", ws.pk, "--component", paid.slug,
                 "--name", "From the shell", stdout=out)
    assert "From the shell" in out.getvalue()
    with pytest.raises(CommandError, match="No component"):
        call_command("marketplace_install", "--workspace", ws.pk, "--component", "nope")


def test_viewers_cannot_install_and_other_tenants_get_400(ws, roles, free):
    assert install(client_for(roles["viewer"]), free, ws).status_code == 403
    stranger = install(client_for(f.UserFactory()), free, ws)
    assert stranger.status_code == 400 and "workspace" in stranger.json()["errors"]
    assert not ComponentInstallation.objects.exists()


def test_yanked_versions_and_deprecated_components_are_not_installed(ws, roles):
    component = component_with(("1.0.0", "1.1.0"))
    client = client_for(roles["member"])
    version_yank(component.versions.get(version="1.1.0"), reason="Broken")
    yanked = install(client, component, ws, version="1.1.0")
    assert yanked.status_code == 409 and yanked.json()["code"] == "version_yanked"
    default = install(client, component, ws)  # the latest not yanked
    assert default.status_code == 201
    installed = ComponentInstallation.objects.get(pk=default.json()["id"])
    assert installed.version.version == "1.0.0"
    unknown = install(client, component, ws, version="9.9.9", name="x")
    assert unknown.status_code == 400 and "version" in unknown.json()["errors"]
    component.status = "deprecated"
    component.save()
    refused = install(client, component, ws, name="Another")
    assert refused.status_code == 409 and refused.json()["code"] == "deprecated"
    # Installed ones keep working and may still upgrade.
    version_publish(component=component, version="1.2.0",
                    payload=workflow_payload(component.name, extra_node=True))
    assert installation_upgrade(installed, by=roles["member"]).version.version == "1.2.0"


def upgrade(client, installation, **body):
    return client.post(f"{API}/installations/{installation.pk}/upgrade/", body, format="json")


def test_upgrade_replaces_the_draft_graph_and_never_touches_published_versions(ws, roles):
    component = component_with(("1.0.0",))
    installation = component_install(workspace=ws, component=component, by=roles["member"])
    workflow = installation.workflow
    published = workflow_publish(workflow=workflow)
    frozen = dict(published.graph)
    version_publish(component=component, version="1.1.0",
                    payload=workflow_payload(component.name, greeting="hey",
                                             extra_node=True))
    answer = upgrade(client_for(roles["member"]), installation)
    assert answer.status_code == 200, answer.content
    assert answer.json()["upgraded_at"] and answer.json()["workflow"] == workflow.pk
    graph = graph_snapshot(workflow)
    assert [n["key"] for n in graph["nodes"]] == ["greet", "shout", "start"]
    assert graph_problems(graph) == []
    assert WorkflowVersion.objects.get(pk=published.pk).graph == frozen
    assert Workflow.objects.filter(workspace=ws).count() == 1
    download = ComponentDownload.objects.filter(kind="upgrade").get()
    assert (download.from_version, download.version.version) == ("1.0.0", "1.1.0")
    component.refresh_from_db()
    assert component.downloads_count == 2
    again = upgrade(client_for(roles["member"]), installation)
    assert again.status_code == 409 and again.json()["code"] == "up_to_date"


def test_an_edited_draft_is_replaced_only_with_force(ws, roles):
    component = component_with(("1.0.0", ))
    installation = component_install(workspace=ws, component=component, by=roles["member"])
    node = installation.workflow.nodes.get(key="greet")
    node_update(node, config={"values": {"greeting": "my own words"}})
    version_publish(component=component, version="2.0.0",
                    payload=workflow_payload(component.name, greeting="v2"))
    client = client_for(roles["member"])
    refused = upgrade(client, installation)
    assert refused.status_code == 409 and refused.json()["code"] == "draft_changed"
    assert installation.workflow.nodes.get(key="greet").config["values"]["greeting"] == \
        "my own words"
    assert upgrade(client, installation, force=True).status_code == 200
    assert installation.workflow.nodes.get(key="greet").config["values"]["greeting"] == "v2"


def test_upgrade_refusals(ws, roles):
    component = component_with(("1.0.0", "1.1.0"))
    installation = component_install(workspace=ws, component=component, version="1.0.0",
                                     by=roles["member"])
    assert upgrade(client_for(roles["viewer"]), installation).status_code == 403
    assert upgrade(client_for(f.UserFactory()), installation).status_code == 404
    version_yank(component.versions.get(version="1.1.0"), reason="Broken")
    yanked = upgrade(client_for(roles["member"]), installation, version="1.1.0")
    assert yanked.status_code == 409 and yanked.json()["code"] == "version_yanked"
    assert upgrade(client_for(roles["member"]), installation,
                   force="maybe").status_code == 400
    version_publish(component=component, version="1.2.0",
                    payload=workflow_payload(component.name))
    installation.workflow.delete()
    gone = upgrade(client_for(roles["member"]), installation)
    assert gone.status_code == 409 and gone.json()["code"] == "workflow_deleted"


def test_a_paid_component_is_not_upgraded_without_its_purchase(ws, roles):
    component = component_with(("1.0.0",))
    installation = component_install(workspace=ws, component=component, by=roles["member"])
    component.price = 900  # it became paid after this workspace installed it
    component.save()
    version_publish(component=component, version="1.1.0",
                    payload=workflow_payload(component.name))
    refused = upgrade(client_for(roles["member"]), installation)
    assert refused.status_code == 402 and refused.json()["code"] == "purchase_required"


def test_api_keys_install_with_their_role(ws, free, paid):
    from rest_framework.test import APIClient

    def key(role):
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"Api-Key {f.ApiKeyFactory(workspace=ws, role=role).raw}")
        return client

    assert install(key("viewer"), free, ws).status_code == 403
    made = install(key("admin"), free, ws)
    assert made.status_code == 201 and made.json()["installed_by"] is None
    refused = install(key("admin"), paid, ws)
    assert refused.status_code == 402 and refused.json()["code"] == "purchase_required"

"""Versions: semantic versions validated and ordered by the semver library; payloads
checked at publish as an import would check them; yanking."""

import pytest
from django.core.exceptions import ValidationError

from core.api.errors import ApiError
from marketplace.models import ComponentVersion
from marketplace.services.catalogue import in_semver_order, version_publish, version_yank
from tests import factories as f
from tests.factories.marketplace import MarketplaceComponentFactory, workflow_payload

from .conftest import API, catalogue_staff, client_for, component_with

pytestmark = pytest.mark.django_db


def publish(component, number, **payload_options):
    return version_publish(component=component, version=number,
                           payload=workflow_payload(component.name, **payload_options))


def test_versions_order_by_semver_not_by_text():
    component = component_with(("1.2.0", "1.9.0", "1.10.0", "2.0.0-beta.1", "2.0.0"))
    listed = client_for(f.UserFactory()).get(f"{API}/versions/",
                                             {"component": component.pk}).json()["results"]
    assert [v["version"] for v in listed] == ["2.0.0", "2.0.0-beta.1", "1.10.0", "1.9.0",
                                              "1.2.0"]
    assert [v.version for v in in_semver_order(component.versions.all())] == \
        ["1.2.0", "1.9.0", "1.10.0", "2.0.0-beta.1", "2.0.0"]


@pytest.mark.parametrize("number", ["1.9.0", "1.10.0", "1.10.0+build.7", "1.10.0-rc.1",
                                    "0.99.99"])
def test_a_version_not_greater_than_the_latest_is_refused(number):
    component = component_with(("1.9.0", "1.10.0"))
    with pytest.raises(ValidationError) as caught:
        publish(component, number)
    assert "not greater than 1.10.0" in caught.value.message_dict["version"][0]
    assert component.versions.count() == 2


@pytest.mark.parametrize("number", ["1.0", "v1.0.0", "01.0.0", "1.0.0.0", "latest", ""])
def test_an_invalid_semantic_version_is_refused(number):
    component = MarketplaceComponentFactory()
    with pytest.raises(ValidationError) as caught:
        publish(component, number)
    assert "not a semantic version" in caught.value.message_dict["version"][0]


def test_a_yanked_version_number_is_never_reused():
    component = component_with(("1.0.0",))
    version_yank(component.versions.get(), reason="Broken graph")
    with pytest.raises(ValidationError):
        publish(component, "1.0.0")
    assert publish(component, "1.0.1").sequence == 2


def test_payload_the_import_would_refuse_is_refused_at_publish():
    component = MarketplaceComponentFactory()
    bad_graph = workflow_payload("X")
    bad_graph["graph"]["nodes"][1]["type"] = "no_such_type"
    for payload, field in [({"format": "other"}, "payload.format"),
                           ({**workflow_payload("X"), "graph": []}, "payload.graph"),
                           (bad_graph, "payload.graph.greet.type"),
                           ({**workflow_payload("X"), "name": ""}, "payload.name")]:
        with pytest.raises(ValidationError) as caught:
            version_publish(component=component, version="1.0.0", payload=payload)
        assert field in caught.value.message_dict
    assert not component.versions.exists()


def test_a_payload_carrying_a_credential_or_a_subworkflow_is_refused():
    component = MarketplaceComponentFactory()
    leaky = workflow_payload("X")
    leaky["graph"]["nodes"][1]["config"] = {"values": {"api_key": "sk-live-123"}}
    with pytest.raises(ValidationError) as caught:
        version_publish(component=component, version="1.0.0", payload=leaky)
    assert "payload.graph.greet.config.values.api_key" in caught.value.message_dict
    # A reference to the installing workspace's vault is how a credential travels.
    leaky["graph"]["nodes"][1]["config"] = {"values": {"api_key": "{{ secrets.CRM_KEY }}"}}
    assert version_publish(component=component, version="1.0.0", payload=leaky).pk
    calling = workflow_payload("Y")
    calling["graph"]["nodes"][1].update(type="subworkflow", config={"workflow": 3})
    with pytest.raises(ValidationError) as caught:
        version_publish(component=component, version="1.1.0", payload=calling)
    assert "payload.graph.greet.type" in caught.value.message_dict


def test_staff_publish_through_the_api_and_others_cannot():
    component = MarketplaceComponentFactory()
    body = {"component": component.pk, "version": "1.0.0", "changelog": "First",
            "payload": workflow_payload("Greeter")}
    assert client_for(f.UserFactory()).post(f"{API}/versions/", body,
                                            format="json").status_code == 403
    staff = client_for(catalogue_staff())
    created = staff.post(f"{API}/versions/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["sequence"] == 1 and len(created.json()["checksum"]) == 64
    again = staff.post(f"{API}/versions/", {**body, "version": "0.9.0"}, format="json")
    assert again.status_code == 400 and "version" in again.json()["errors"]
    bad = staff.post(f"{API}/versions/", {**body, "version": "2.0.0", "payload": {"a": 1}},
                     format="json")
    assert bad.status_code == 400 and "payload.format" in bad.json()["errors"]
    assert ComponentVersion.objects.filter(component=component).count() == 1
    pk = created.json()["id"]
    for answer in (staff.patch(f"{API}/versions/{pk}/", {"changelog": "x"}, format="json"),
                   staff.delete(f"{API}/versions/{pk}/")):
        assert answer.status_code == 405


def test_yank_through_the_api_is_staff_only():
    component = component_with(("1.0.0",))
    version = component.versions.get()
    url = f"{API}/versions/{version.pk}/yank/"
    assert client_for(f.UserFactory()).post(url, {"reason": "bug"}).status_code == 403
    staff = client_for(catalogue_staff())
    assert staff.post(url, {}).status_code == 400
    answer = staff.post(url, {"reason": "Sends to the wrong list"})
    assert answer.status_code == 200 and answer.json()["yanked"] is True
    version.refresh_from_db()
    assert version.yanked_reason == "Sends to the wrong list"
    with pytest.raises(ApiError):
        version_yank(version, reason="again", by=f.UserFactory())


def test_clients_see_published_components_only():
    shown = component_with(("1.0.0",))
    draft = component_with(("1.0.0",), status="draft")
    client = client_for(f.UserFactory())
    ids = [c["id"] for c in client.get(f"{API}/components/").json()["results"]]
    assert shown.pk in ids and draft.pk not in ids
    assert client.get(f"{API}/components/{draft.pk}/").status_code == 404
    versions = client.get(f"{API}/versions/").json()["results"]
    assert {v["component"] for v in versions} == {shown.pk}
    staff = client_for(catalogue_staff())
    assert staff.get(f"{API}/components/{draft.pk}/").status_code == 200
    changed = staff.patch(f"{API}/components/{draft.pk}/", {"status": "published"},
                          format="json")
    assert changed.status_code == 200
    assert client.patch(f"{API}/components/{draft.pk}/", {"name": "x"},
                        format="json").status_code == 403


def test_only_staff_read_payloads_so_a_paid_workflow_is_not_taken_unbought(paid):
    version = paid.versions.get()
    client = client_for(f.UserFactory())
    shown = client.get(f"{API}/versions/{version.pk}/").json()
    assert "payload" not in shown and shown["version"] == "1.0.0"
    assert all("payload" not in row
               for row in client.get(f"{API}/versions/").json()["results"])
    staff = client_for(catalogue_staff()).get(f"{API}/versions/{version.pk}/").json()
    assert staff["payload"]["format"] == "synapscale.workflow/1"

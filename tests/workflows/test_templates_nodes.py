"""Node templates: preset nodes with credential names (never values), applied to a draft
workflow as a new node; public ones from any workspace, private ones only at home."""

import pytest
from django.urls import reverse

from tests.factories import SecretFactory, WorkflowFactory
from tests.factories.workflow_templates import NodeRatingFactory, NodeTemplateFactory
from tests.workflows.test_templates import Crew
from workflows.models import Node, NodeTemplate
from workspaces.services import vault

pytestmark = pytest.mark.django_db
SECRET = "sk-live-1a2b3c4d5e6f"


def create(crew, **fields):
    body = {"workspace": crew.workspace.pk, "name": "Call the CRM", "node_type": "http_request",
            "config": {"url": "https://crm.example/leads",
                       "headers": {"Authorization": "Bearer {{ secrets.CRM_TOKEN }}"}},
            **fields}
    return crew.post("workflows-nodetemplate-list", body)


def test_a_node_template_lists_its_credentials_and_refuses_a_pasted_secret():
    a = Crew()
    SecretFactory(workspace=a.workspace, name="CRM_TOKEN", ciphertext=vault.encrypt(SECRET))

    made = create(a, visibility="public")
    leaked = create(a, name="Leaky", config={"url": "https://crm.example/leads",
                                             "headers": {"Authorization": f"Bearer {SECRET}"}})

    assert made.status_code == 201, made.content
    assert made.json()["required_credentials"] == {"secrets": ["CRM_TOKEN"], "variables": []}
    assert leaked.status_code == 400 and leaked.json()["code"] == "secret_in_template"
    assert list(leaked.json()["errors"]) == ["config.headers.Authorization"]
    assert SECRET not in leaked.content.decode()
    assert NodeTemplate.objects.count() == 1


@pytest.mark.parametrize("fields, field", [
    ({"node_type": "teleport"}, "node_type"),
    ({"config": {"method": "FETCH"}}, "config"),
    ({"visibility": "world"}, "visibility"),
])
def test_bad_node_templates_are_refused_field_by_field(fields, field):
    a = Crew()
    response = create(a, **fields)
    assert response.status_code == 400 and field in response.json()["errors"], response.content
    assert not NodeTemplate.objects.exists()


def test_applying_a_public_node_template_adds_the_node_to_a_draft():
    a, b = Crew(), Crew()
    preset = NodeTemplateFactory(workspace=a.workspace, visibility="public")
    workflow = WorkflowFactory(workspace=b.workspace, status="draft")

    response = b.post("workflows-nodetemplate-apply",
                      {"workflow": workflow.pk, "key": "region", "position_x": 300},
                      preset.pk)

    assert response.status_code == 201, response.content
    node = Node.objects.get(pk=response.json()["id"])
    assert (node.workflow, node.workspace, node.type) == (workflow, b.workspace, "set_values")
    assert node.config == preset.config and node.position_x == 300
    preset.refresh_from_db()
    assert preset.apply_count == 1
    again = b.post("workflows-nodetemplate-apply", {"workflow": workflow.pk, "key": "region"},
                   preset.pk)
    assert again.status_code == 400 and "key" in again.json()["errors"]


def test_a_private_node_template_stays_home():
    a, b = Crew(), Crew()
    preset = NodeTemplateFactory(workspace=a.workspace)
    theirs = WorkflowFactory(workspace=b.workspace)
    mine = WorkflowFactory(workspace=a.workspace)

    elsewhere = b.post("workflows-nodetemplate-apply", {"workflow": theirs.pk, "key": "x"},
                       preset.pk)
    not_visible = a.post("workflows-nodetemplate-apply", {"workflow": theirs.pk, "key": "x"},
                         preset.pk)
    gallery = {r["id"] for r in b.get("workflows-node-template-gallery-list")
               .json()["results"]}
    rating = b.post("workflows-noderating-list",
                    {"workspace": b.workspace.pk, "node_template": preset.pk, "rating": 5})

    assert elsewhere.status_code == 404
    assert not_visible.status_code == 400 and "workflow" in not_visible.json()["errors"]
    assert preset.pk not in gallery
    assert rating.status_code == 400 and "node_template" in rating.json()["errors"]
    assert not Node.objects.filter(workflow__in=[theirs, mine]).exists()


def test_one_rating_per_user_and_the_averages_follow_even_when_it_moves():
    a = Crew()
    preset = NodeTemplateFactory(workspace=a.workspace)
    NodeRatingFactory(workspace=a.workspace, node_template=preset, rating=1)
    body = {"workspace": a.workspace.pk, "node_template": preset.pk, "rating": 4}

    first, second = (a.post("workflows-noderating-list", body) for _ in range(2))

    assert first.status_code == 201
    assert second.status_code == 400 and second.json()["code"] == "duplicate_noderating"
    preset.refresh_from_db()
    assert (str(preset.rating_average), preset.rating_count) == ("2.50", 2)
    other = NodeTemplateFactory(workspace=a.workspace)
    moved = a.client.put(reverse("workflows-noderating-detail", args=[first.json()["id"]]),
                         {**body, "node_template": other.pk}, format="json")
    assert moved.status_code == 200, moved.content
    preset.refresh_from_db()
    other.refresh_from_db()
    assert (str(preset.rating_average), preset.rating_count) == ("1.00", 1)
    assert (str(other.rating_average), other.rating_count) == ("4.00", 1)

"""Workflow templates end to end: publish a version (credential names, never values),
install it elsewhere as a draft that runs, the gallery, reviews and favourites."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core import events
from tests.factories import MembershipFactory, SecretFactory, UserFactory, WorkspaceFactory
from tests.factories.workflow_templates import TemplateReviewFactory, WorkflowTemplateFactory
from tests.workflows.engine_nodes import run_eagerly
from workflows.models import (
    Execution,
    TemplateInstallation,
    TemplateReview,
    Workflow,
    WorkflowTemplate,
)
from workflows.services import definitions
from workspaces.services import vault

FIXTURES = (run_eagerly,)  # used by name as an argument
SECRET = "sk-live-9f8e7d6c5b4a"
pytestmark = pytest.mark.django_db


class Crew:
    """A workspace with an admin signed in through the API."""

    def __init__(self, role="admin"):
        self.workspace = WorkspaceFactory()
        self.user = UserFactory()
        MembershipFactory(workspace=self.workspace, user=self.user, role=role)
        self.client = APIClient()
        self.client.force_login(self.user)

    def post(self, name, body, *args):
        return self.client.post(reverse(name, args=args), body, format="json")

    def get(self, name, *args, **params):
        return self.client.get(reverse(name, args=args), params)


def published(workspace, values: dict, name="Lead follow-up"):
    """A workflow ``start → tag`` (set_values with ``values``), published as version 1."""
    workflow = definitions.workflow_create(workspace=workspace, name=name, input_schema={})
    start = definitions.node_create(workflow=workflow, key="start", type="trigger")
    tag = definitions.node_create(workflow=workflow, key="tag", type="set_values",
                                  config={"values": values})
    definitions.connection_create(workflow=workflow, source=start, target=tag)
    return definitions.workflow_publish(workflow=workflow)


def publish_template(crew, version, **fields):
    fields.setdefault("name", version.workflow.name)
    return crew.post("workflows-workflowtemplate-list",
                     {"workspace": crew.workspace.pk, "source_version": version.pk, **fields})


def test_publishing_lists_the_credentials_the_graph_reads_and_never_their_values():
    a = Crew()
    SecretFactory(workspace=a.workspace, name="CRM_TOKEN", ciphertext=vault.encrypt(SECRET))
    version = published(a.workspace, {"auth": "Bearer {{ secrets.CRM_TOKEN }}",
                                      "other": "{{ secrets['erp-key'] }}",
                                      "region": "{{ vars.REGION | upper }}"})

    response = publish_template(a, version, visibility="public", category="sales",
                                tags=["crm"])

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["required_credentials"] == {"secrets": ["CRM_TOKEN", "erp-key"],
                                            "variables": ["REGION"]}
    assert body["name"] == "Lead follow-up" and body["node_types"] == ["set_values", "trigger"]
    assert body["graph"] == version.graph and body["publisher"] == a.user.pk
    assert SECRET not in response.content.decode()


def test_publishing_is_refused_when_a_secret_value_is_pasted_into_the_graph():
    a = Crew()
    SecretFactory(workspace=a.workspace, name="CRM_TOKEN", ciphertext=vault.encrypt(SECRET))
    version = published(a.workspace, {"auth": f"Bearer {SECRET}",
                                      "url": f"https://crm.example/?k={SECRET}"})

    response = publish_template(a, version, visibility="public")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "secret_in_template"
    paths = sorted(body["errors"])
    assert paths == ["graph.nodes[1].config.values.auth", "graph.nodes[1].config.values.url"]
    assert "secrets.CRM_TOKEN" in body["errors"][paths[0]][0]
    assert SECRET not in response.content.decode()
    assert not WorkflowTemplate.objects.exists()


def test_a_secret_added_later_is_caught_when_the_template_changes():
    a = Crew()
    version = published(a.workspace, {"note": "call 0800-CRM-HELP"})
    template = publish_template(a, version).json()
    SecretFactory(workspace=a.workspace, name="HELPLINE", ciphertext=vault.encrypt("0800-CRM-HELP"))

    response = a.client.patch(reverse("workflows-workflowtemplate-detail", args=[template["id"]]),
                              {"visibility": "public"}, format="json")

    assert response.status_code == 400 and response.json()["code"] == "secret_in_template"
    assert WorkflowTemplate.objects.get().visibility == "private"


def test_installing_a_public_template_gives_a_draft_that_runs_with_the_installers_secret(
        run_eagerly, django_capture_on_commit_callbacks):
    a, b = Crew(), Crew()
    SecretFactory(workspace=a.workspace, name="CRM_TOKEN", ciphertext=vault.encrypt(SECRET))
    version = published(a.workspace, {"auth": "Bearer {{ secrets.CRM_TOKEN }}", "n": 1})
    template = publish_template(a, version, visibility="public").json()

    announced = []
    events.subscribe(announced.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = b.post("workflows-workflowtemplate-install",
                              {"workspace": b.workspace.pk}, template["id"])
    finally:
        events.unsubscribe(announced.append)

    assert response.status_code == 201, response.content
    installed = response.json()
    event, = [e for e in announced if e.name == "workflows.template.installed"]
    assert (event.workspace_id, event.payload["workflow"]) == (b.workspace.pk,
                                                               installed["workflow"])
    assert event.payload["missing_secrets"] == ["CRM_TOKEN"]
    assert installed["required_credentials"] == {"secrets": ["CRM_TOKEN"], "variables": []}
    assert installed["missing_secrets"] == ["CRM_TOKEN"]
    workflow = Workflow.objects.get(pk=installed["workflow"])
    assert workflow.workspace == b.workspace and workflow.status == "draft"
    assert workflow.name == "Lead follow-up" and workflow.version == 0
    assert SECRET not in repr(definitions.workflow_export(workflow))

    b_secret = "b-own-token-123456"
    SecretFactory(workspace=b.workspace, name="CRM_TOKEN", ciphertext=vault.encrypt(b_secret))
    definitions.workflow_publish(workflow=workflow)
    execution = run_eagerly(workflow)

    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    assert execution.output == {"auth": "Bearer ***", "n": 1}
    gallery = b.get("workflows-template-gallery-detail", template["id"]).json()
    assert gallery["install_count"] == 1 and gallery["usage_count"] == 1


def test_installing_under_a_taken_name_is_refused_naming_it_then_works_with_name():
    a = Crew()
    version = published(a.workspace, {"n": 1})
    template = publish_template(a, version).json()

    clash = a.post("workflows-workflowtemplate-install", {"workspace": a.workspace.pk},
                   template["id"])
    renamed = a.post("workflows-workflowtemplate-install",
                     {"workspace": a.workspace.pk, "name": "Follow-up (mine)"}, template["id"])

    assert clash.status_code == 400 and "name" in clash.json()["errors"]
    assert renamed.status_code == 201
    assert TemplateInstallation.objects.count() == 1
    assert WorkflowTemplate.objects.get().install_count == 1


def test_a_private_template_is_not_installable_in_another_workspace():
    a, b = Crew(), Crew()
    template = publish_template(a, published(a.workspace, {"n": 1})).json()
    MembershipFactory(workspace=b.workspace, user=a.user, role="admin")  # a's admin in b too

    stranger = b.post("workflows-workflowtemplate-install", {"workspace": b.workspace.pk},
                      template["id"])
    insider = a.post("workflows-workflowtemplate-install", {"workspace": b.workspace.pk},
                     template["id"])

    assert stranger.status_code == 404
    assert insider.status_code == 404
    assert not Workflow.objects.filter(workspace=b.workspace).exists()
    assert not TemplateInstallation.objects.exists()


def test_installing_into_a_workspace_where_one_is_a_viewer_is_forbidden():
    a = Crew()
    template = publish_template(a, published(a.workspace, {"n": 1}),
                                visibility="public").json()
    viewer = Crew(role="viewer")

    response = viewer.post("workflows-workflowtemplate-install",
                           {"workspace": viewer.workspace.pk}, template["id"])

    assert response.status_code == 403
    assert not TemplateInstallation.objects.exists()


def test_the_gallery_lists_public_templates_and_ones_own_the_scoped_list_only_ones_own():
    a, b = Crew(), Crew()
    public = WorkflowTemplateFactory(workspace=a.workspace, visibility="public")
    private = WorkflowTemplateFactory(workspace=a.workspace)
    own = WorkflowTemplateFactory(workspace=b.workspace)

    gallery = {r["id"] for r in b.get("workflows-template-gallery-list").json()["results"]}
    scoped = {r["id"] for r in b.get("workflows-workflowtemplate-list").json()["results"]}

    assert gallery == {public.pk, own.pk}
    assert scoped == {own.pk}
    assert b.get("workflows-template-gallery-detail", private.pk).status_code == 404
    assert b.client.delete(reverse("workflows-template-gallery-detail",
                                   args=[public.pk])).status_code == 405


def test_a_review_of_a_public_template_is_the_reviewers_row_and_moves_the_average():
    a, b = Crew(), Crew()
    template = WorkflowTemplateFactory(workspace=a.workspace, visibility="public")
    TemplateReviewFactory(workspace=a.workspace, template=template, rating=2)

    response = b.post("workflows-templatereview-list",
                      {"workspace": b.workspace.pk, "template": template.pk, "rating": 5,
                       "comment": "Works"})

    assert response.status_code == 201, response.content
    review = TemplateReview.objects.get(pk=response.json()["id"])
    assert review.workspace == b.workspace and review.user == b.user
    template.refresh_from_db()
    assert (str(template.rating_average), template.rating_count) == ("3.50", 2)
    assert review.pk not in {r["id"] for r in a.get("workflows-templatereview-list")
                             .json()["results"]}

    edited = b.client.patch(reverse("workflows-templatereview-detail", args=[review.pk]),
                            {"rating": 4}, format="json")
    assert edited.status_code == 200
    template.refresh_from_db()
    assert str(template.rating_average) == "3.00"
    b.client.delete(reverse("workflows-templatereview-detail", args=[review.pk]))
    template.refresh_from_db()
    assert (str(template.rating_average), template.rating_count) == ("2.00", 1)


def test_one_review_and_one_favourite_per_user_and_template():
    a = Crew()
    template = WorkflowTemplateFactory(workspace=a.workspace)
    body = {"workspace": a.workspace.pk, "template": template.pk}

    first, second = (a.post("workflows-templatereview-list", {**body, "rating": 4})
                     for _ in range(2))
    liked, again = (a.post("workflows-templatefavorite-list", body) for _ in range(2))

    assert first.status_code == 201 and liked.status_code == 201
    assert second.status_code == 400 and second.json()["code"] == "duplicate_templatereview"
    assert again.status_code == 400 and again.json()["code"] == "duplicate_templatefavorite"
    assert "template" in again.json()["errors"]
    assert WorkflowTemplate.objects.get().rating_count == 1


def test_another_workspaces_private_template_cannot_be_reviewed_favoured_or_collected():
    a, b = Crew(), Crew()
    private = WorkflowTemplateFactory(workspace=a.workspace)
    public = WorkflowTemplateFactory(workspace=a.workspace, visibility="public")

    review = b.post("workflows-templatereview-list",
                    {"workspace": b.workspace.pk, "template": private.pk, "rating": 3})
    favourite = b.post("workflows-templatefavorite-list",
                       {"workspace": b.workspace.pk, "template": private.pk})
    collection = b.post("workflows-templatecollection-list",
                        {"workspace": b.workspace.pk, "name": "Picks",
                         "templates": [public.pk, private.pk]})
    good = b.post("workflows-templatecollection-list",
                  {"workspace": b.workspace.pk, "name": "Picks", "templates": [public.pk]})

    assert review.status_code == 400 and "template" in review.json()["errors"]
    assert favourite.status_code == 400 and "template" in favourite.json()["errors"]
    assert collection.status_code == 400 and "templates" in collection.json()["errors"]
    assert good.status_code == 201 and good.json()["templates"] == [public.pk]


@pytest.mark.parametrize("body, field", [
    ({"rating": 6}, "rating"),
    ({"rating": 0}, "rating"),
    ({"rating": "five"}, "rating"),
    ({"rating": 3, "template": 2_000_000_000}, "template"),
])
def test_bad_reviews_are_refused_field_by_field(body, field):
    a = Crew()
    template = WorkflowTemplateFactory(workspace=a.workspace)
    response = a.post("workflows-templatereview-list",
                      {"workspace": a.workspace.pk, "template": template.pk, **body})
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not TemplateReview.objects.exists()


def test_bad_templates_and_installs_are_refused_with_400():
    a, b = Crew(), Crew()
    theirs = published(b.workspace, {"n": 1})
    mine = published(a.workspace, {"n": 1})
    template = publish_template(a, mine).json()

    foreign = publish_template(a, theirs)
    no_version = a.post("workflows-workflowtemplate-list", {"workspace": a.workspace.pk})
    bad_tags = publish_template(a, mine, name="Other", tags="crm")
    bad_visibility = publish_template(a, mine, name="Other", visibility="everyone")
    nowhere = a.post("workflows-workflowtemplate-install", {"workspace": b.workspace.pk},
                     template["id"])
    no_body = a.post("workflows-workflowtemplate-install", {}, template["id"])

    assert foreign.status_code == 400 and "source_version" in foreign.json()["errors"]
    assert no_version.status_code == 400 and "source_version" in no_version.json()["errors"]
    assert bad_tags.status_code == 400 and "tags" in bad_tags.json()["errors"]
    assert bad_visibility.status_code == 400 and "visibility" in bad_visibility.json()["errors"]
    assert nowhere.status_code == 400 and "workspace" in nowhere.json()["errors"]
    assert no_body.status_code == 400 and "workspace" in no_body.json()["errors"]
    assert WorkflowTemplate.objects.count() == 1

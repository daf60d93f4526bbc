"""Templates in the back office: the add page publishes through the service (a pasted
secret is a message, nothing saved), the install action makes a draft, a second review
by the same person is refused on the page."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.factories import MembershipFactory, SecretFactory, UserFactory, WorkspaceFactory
from tests.factories.workflow_templates import TemplateReviewFactory, WorkflowTemplateFactory
from tests.workflows.test_templates import published
from workflows.models import TemplateInstallation, TemplateReview, Workflow, WorkflowTemplate
from workspaces.services import vault

pytestmark = pytest.mark.django_db
SECRET = "sk-live-0a9b8c7d6e5f"


@pytest.fixture
def staff(client):
    workspace, user = WorkspaceFactory(), UserFactory(is_staff=True)
    MembershipFactory(workspace=workspace, user=user, role="admin")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="workflows"))
    client.force_login(user)
    return user, workspace


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_add_page_publishes_and_refuses_a_pasted_secret(client, staff):
    user, workspace = staff
    SecretFactory(workspace=workspace, name="CRM_TOKEN", ciphertext=vault.encrypt(SECRET))
    clean = published(workspace, {"auth": "{{ secrets.CRM_TOKEN }}"}, name="Clean")
    leaky = published(workspace, {"auth": SECRET}, name="Leaky")
    add = reverse("admin:workflows_workflowtemplate_add")
    form = {"workspace": workspace.pk, "name": "Follow-up", "description": "", "category": "",
            "tags": "[]", "visibility": "public"}

    refused = client.post(add, {**form, "source_version": leaky.pk}, follow=True)
    made = client.post(add, {**form, "source_version": clean.pk})

    assert any("secret CRM_TOKEN" in m for m in said(refused)), said(refused)
    assert made.status_code == 302, made.content[:2000]
    template = WorkflowTemplate.objects.get()
    assert template.source_version == clean and template.publisher == user
    assert template.required_credentials == {"secrets": ["CRM_TOKEN"], "variables": []}


def test_the_install_action_makes_a_draft_in_the_templates_workspace(client, staff):
    _, workspace = staff
    template = WorkflowTemplateFactory(workspace=workspace)

    response = client.post(reverse("admin:workflows_workflowtemplate_changelist"),
                           {"action": "install_here", "_selected_action": [template.pk]})

    assert response.status_code == 302
    installation = TemplateInstallation.objects.get()
    assert installation.workflow.status == Workflow.Status.DRAFT
    assert installation.workflow.workspace == workspace
    assert any("Installed as" in m for m in said(response))


def test_a_second_review_by_the_same_person_is_refused_on_the_page(client, staff):
    user, workspace = staff
    template = WorkflowTemplateFactory(workspace=workspace)
    TemplateReviewFactory(workspace=workspace, template=template, user=user, rating=3)

    response = client.post(reverse("admin:workflows_templatereview_add"),
                           {"workspace": workspace.pk, "template": template.pk, "rating": 5,
                            "comment": ""}, follow=True)

    assert any("already reviewed" in m for m in said(response)), said(response)
    assert TemplateReview.objects.count() == 1

"""Knowledge bases in the back office: the search test box and its results page, the
evaluate action, documents saved through the services, another tenant's base a 404."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

import agents.admin.knowledge  # noqa: F401  (registers, as agents/admin/__init__.py does)
from agents.models import Chunk, Document, EvaluationRun
from agents.services import knowledge as svc
from tests.factories import (
    EvaluationQuestionFactory,
    KnowledgeBaseFactory,
    MembershipFactory,
    UserFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db
MODELS = ("knowledgebase", "document", "chunk", "evaluationquestion", "evaluationrun")


@pytest.fixture
def kb(client, django_capture_on_commit_callbacks):
    kb = KnowledgeBaseFactory(name="Help <centre>")
    user = UserFactory(is_staff=True)
    MembershipFactory(workspace=kb.workspace, user=user, role="admin")
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="agents",
        codename__in=[f"{a}_{model}" for a in ("view", "add", "change", "delete")
                      for model in MODELS]))
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        svc.document_create(knowledge_base=kb, title="Returns",
                            text="Return an item within 30 days for a refund.")
        svc.document_create(knowledge_base=kb, title="Shipping",
                            text="Parcels ship to Canada in five days.")
    return kb


def test_search_box_on_the_page_and_results(client, kb):
    page = client.get(reverse("admin:agents_knowledgebase_change", args=[kb.pk]))
    assert page.status_code == 200
    assert b'id="kb-search-box"' in page.content
    url = reverse("admin:agents_knowledgebase_search", args=[kb.pk])
    results = client.get(url, {"q": "ship to Canada", "k": "3"})
    assert results.status_code == 200
    rows = results.context["hits"]
    assert [h.document_title for h in rows] == ["Shipping"]
    assert b"Parcels ship to Canada in five days." in results.content
    assert "No chunk matches" in client.get(url, {"q": "zebra"}).content.decode()
    assert client.get(url, {"q": "x", "k": "many"}).context["error"]


def test_other_tenants_base_is_404(client, kb):
    other = KnowledgeBaseFactory(workspace=WorkspaceFactory())
    assert client.get(reverse("admin:agents_knowledgebase_search",
                              args=[other.pk]), {"q": "x"}).status_code == 404


def test_evaluate_action(client, kb, django_capture_on_commit_callbacks):
    changelist = reverse("admin:agents_knowledgebase_changelist")
    response = client.post(changelist, {"action": "evaluate", "_selected_action": [kb.pk]},
                           follow=True)
    assert "no evaluation questions" in " ".join(str(m) for m in
                                                 get_messages(response.wsgi_request))
    question = EvaluationQuestionFactory(workspace=kb.workspace, knowledge_base=kb,
                                         question="refund")
    question.expected_documents.set(kb.documents.filter(title="Returns"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {"action": "evaluate", "_selected_action": [kb.pk]})
    run = EvaluationRun.objects.get(knowledge_base=kb)
    assert (run.status, run.hit_rate, run.mrr) == ("succeeded", 1.0, 1.0)


def test_document_added_in_the_admin_is_indexed(client, kb, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:agents_document_add"), {
            "workspace": kb.workspace_id, "knowledge_base": kb.pk, "title": "Stores",
            "text": "Stores open at nine."})
    assert response.status_code == 302, response.context["adminform"].form.errors
    document = Document.objects.get(title="Stores")
    assert document.status == "ready"
    assert Chunk.objects.get(document=document).text == "Stores open at nine."

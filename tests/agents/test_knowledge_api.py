"""The knowledge API: bases, documents from text or a workspace file, search, evaluation,
read-only chunks and runs; other tenants' rows are 404s, bad input a structured 400."""

import pytest
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

import agents.api.knowledge  # noqa: F401  (registers the routes, as agents/api/urls.py does)
from agents.models import Chunk, Document, EvaluationRun
from tests.factories import (
    FileFactory,
    KnowledgeBaseFactory,
    MembershipFactory,
    UserFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db
API = "/api/v1/agents/"


def client_for(workspace, role="member"):
    user = UserFactory()
    MembershipFactory(workspace=workspace, user=user, role=role)
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def workspace():
    return WorkspaceFactory()


@pytest.fixture
def member(workspace):
    return client_for(workspace)


@pytest.fixture
def kb(workspace):
    return KnowledgeBaseFactory(workspace=workspace, chunk_size=200, chunk_overlap=20)


def add_document(client, kb, title, text, capture):
    with capture(execute=True):
        response = client.post(f"{API}documents/", {"workspace": kb.workspace_id,
                                                    "knowledge_base": kb.pk, "title": title,
                                                    "text": text}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_documents_are_indexed_and_searchable(member, kb, django_capture_on_commit_callbacks):
    add_document(member, kb, "Returns", "Return an item within 30 days for a refund.",
                 django_capture_on_commit_callbacks)
    doc = add_document(member, kb, "Shipping", "Parcels ship to Canada in five days.",
                       django_capture_on_commit_callbacks)
    shown = member.get(f"{API}documents/{doc['id']}/").json()
    assert (shown["status"], shown["chunk_count"], shown["error"]) == ("ready", 1, "")
    found = member.post(f"{API}knowledge-bases/{kb.pk}/search/",
                        {"query": "ship to Canada", "k": 3}, format="json")
    assert found.status_code == 200, found.content
    results = found.json()["results"]
    assert results[0]["document"] == doc["id"]
    assert results[0]["document_title"] == "Shipping"
    assert results[0]["text"] == "Parcels ship to Canada in five days."
    chunks = member.get(f"{API}chunks/", {"document": doc["id"]}).json()["results"]
    assert [(c["start_offset"], c["end_offset"]) for c in chunks] == [(0, 36)]


def test_document_from_a_workspace_file(member, kb, django_capture_on_commit_callbacks):
    upload = FileFactory(workspace=kb.workspace, name="faq.md", content_type="text/markdown",
                         file=ContentFile(b"# FAQ\n\nGift cards **never** expire.",
                                          name="faq.md"))
    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(f"{API}documents/", {"workspace": kb.workspace_id,
                                                    "knowledge_base": kb.pk, "title": "FAQ",
                                                    "file": upload.pk}, format="json")
    assert response.status_code == 201, response.content
    document = Document.objects.get(pk=response.json()["id"])
    assert document.status == "ready"
    assert document.content_type == "text/markdown"
    assert Chunk.objects.get(document=document).text == "FAQ\n\nGift cards never expire."


@pytest.mark.parametrize(("body", "field"), [
    ({"title": "Empty", "text": "   "}, "non_field_errors"),
    ({"title": "", "text": "Some text"}, "title"),
])
def test_bad_document_is_a_structured_400(member, kb, body, field):
    response = member.post(f"{API}documents/", {"workspace": kb.workspace_id,
                                                "knowledge_base": kb.pk, **body},
                           format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]


def test_unsupported_file_is_a_400_naming_the_file(member, kb):
    image = FileFactory(workspace=kb.workspace, name="a.png", content_type="image/png")
    response = member.post(f"{API}documents/", {"workspace": kb.workspace_id,
                                                "knowledge_base": kb.pk, "title": "Picture",
                                                "file": image.pk}, format="json")
    assert response.status_code == 400
    assert "Unsupported file type" in response.json()["errors"]["file"][0]


def test_bad_knowledge_base_settings_and_search_input(member, workspace, kb):
    response = member.post(f"{API}knowledge-bases/", {"workspace": workspace.pk, "name": "X",
                                                      "chunk_size": 200,
                                                      "chunk_overlap": 300}, format="json")
    assert response.status_code == 400
    assert "chunk_overlap" in response.json()["errors"]
    for body in ({}, {"query": ""}, {"query": "x", "k": 0}, {"query": "x", "k": "many"}):
        response = member.post(f"{API}knowledge-bases/{kb.pk}/search/", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["code"] == "invalid"


def test_other_workspaces_rows_are_404(kb, django_capture_on_commit_callbacks):
    owner = client_for(kb.workspace)
    doc = add_document(owner, kb, "Returns", "Return within 30 days.",
                       django_capture_on_commit_callbacks)
    stranger = client_for(WorkspaceFactory())
    assert stranger.get(f"{API}knowledge-bases/{kb.pk}/").status_code == 404
    assert stranger.post(f"{API}knowledge-bases/{kb.pk}/search/", {"query": "return"},
                         format="json").status_code == 404
    assert stranger.post(f"{API}knowledge-bases/{kb.pk}/evaluate/", {},
                         format="json").status_code == 404
    assert stranger.get(f"{API}documents/{doc['id']}/").status_code == 404
    assert stranger.post(f"{API}documents/{doc['id']}/reindex/").status_code == 404
    assert stranger.get(f"{API}chunks/").json()["results"] == []
    # Nor can another workspace's base be named when creating a document.
    response = stranger.post(f"{API}documents/", {"workspace": kb.workspace_id,
                                                  "knowledge_base": kb.pk, "title": "T",
                                                  "text": "x"}, format="json")
    assert response.status_code == 400


def test_viewer_searches_but_cannot_evaluate_or_reindex(workspace, kb,
                                                        django_capture_on_commit_callbacks):
    doc = add_document(client_for(workspace), kb, "Returns", "Return within 30 days.",
                       django_capture_on_commit_callbacks)
    viewer = client_for(workspace, role="viewer")
    found = viewer.post(f"{API}knowledge-bases/{kb.pk}/search/", {"query": "return"},
                        format="json")
    assert [r["document"] for r in found.json()["results"]] == [doc["id"]]
    assert viewer.post(f"{API}knowledge-bases/{kb.pk}/evaluate/", {},
                       format="json").status_code == 403
    assert viewer.post(f"{API}documents/{doc['id']}/reindex/").status_code == 403


def test_evaluation_through_the_api(member, kb, django_capture_on_commit_callbacks):
    returns = add_document(member, kb, "Returns", "Return an item within 30 days.",
                           django_capture_on_commit_callbacks)
    shipping = add_document(member, kb, "Shipping", "Parcels ship to Canada.",
                            django_capture_on_commit_callbacks)
    response = member.post(f"{API}knowledge-bases/{kb.pk}/evaluate/", {}, format="json")
    assert response.status_code == 400  # no questions yet
    assert "no evaluation questions" in str(response.json()["errors"])
    for question, doc in (("return an item", returns), ("ship parcels", shipping),
                          ("opening hours", shipping)):
        created = member.post(f"{API}evaluation-questions/", {
            "workspace": kb.workspace_id, "knowledge_base": kb.pk, "question": question,
            "expected_documents": [doc["id"]]}, format="json")
        assert created.status_code == 201, created.content
    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(f"{API}knowledge-bases/{kb.pk}/evaluate/", {"k": 2},
                               format="json")
    assert response.status_code == 202, response.content
    run = member.get(f"{API}evaluations/{response.json()['id']}/").json()
    assert run["status"] == EvaluationRun.Status.SUCCEEDED
    # Two of three found at rank 1; "opening hours" matches nothing.
    assert run["hit_rate"] == pytest.approx(2 / 3)
    assert run["mrr"] == pytest.approx(2 / 3)
    assert member.delete(f"{API}evaluations/{run['id']}/").status_code == 405


def test_expected_documents_must_belong_to_the_base(member, workspace, kb,
                                                    django_capture_on_commit_callbacks):
    other = KnowledgeBaseFactory(workspace=workspace)
    foreign = add_document(member, other, "Elsewhere", "Text.",
                           django_capture_on_commit_callbacks)
    response = member.post(f"{API}evaluation-questions/", {
        "workspace": workspace.pk, "knowledge_base": kb.pk, "question": "q",
        "expected_documents": [foreign["id"]]}, format="json")
    assert response.status_code == 400
    assert "expected_documents" in response.json()["errors"]


def test_a_document_moved_to_another_base_is_found_only_there(
        member, workspace, kb, django_capture_on_commit_callbacks):
    doc = add_document(member, kb, "Shipping", "Parcels ship to Canada in five days.",
                       django_capture_on_commit_callbacks)
    other = KnowledgeBaseFactory(workspace=workspace, chunk_size=200, chunk_overlap=20)

    with django_capture_on_commit_callbacks(execute=True):
        moved = member.patch(f"{API}documents/{doc['id']}/", {"knowledge_base": other.pk},
                             format="json")

    assert moved.status_code == 200, moved.content
    assert moved.json()["knowledge_base"] == other.pk
    query = {"query": "ship to Canada", "k": 3}
    assert member.post(f"{API}knowledge-bases/{kb.pk}/search/", query,
                       format="json").json()["results"] == []
    found = member.post(f"{API}knowledge-bases/{other.pk}/search/", query,
                        format="json").json()["results"]
    assert [r["document"] for r in found] == [doc["id"]]
    assert set(Chunk.objects.filter(document_id=doc["id"])
               .values_list("knowledge_base_id", flat=True)) == {other.pk}

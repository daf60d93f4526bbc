"""Hybrid search: embeddings stored per chunk at ingestion and fused with full text by
reciprocal-rank fusion; a provider failure fails ingestion clearly and degrades search to
full text.  The embeddings door (``calls.embed_texts``) is replaced by a deterministic
embedder: the provider wire format is tested with the providers."""

import sys
import types

import pytest

import agents.services
from agents.knowledge import search as search_module
from agents.knowledge import vectors
from agents.models import Chunk, Document
from agents.providers.base import EmbeddingResult, ProviderError, Usage
from agents.services import knowledge as svc
from tests.factories import KnowledgeBaseFactory, LLMModelFactory

pytestmark = pytest.mark.django_db

#: Dimensions of meaning, each with the words that express it.
MEANINGS = [("refund", "return", "money", "reimburse"), ("parcel", "ship", "deliver"),
            ("password", "sign", "login")]


def embed(text: str) -> list[float]:
    words = text.lower().replace(".", " ").replace("?", " ").split()
    return [float(sum(1 for w in words for stem in group if w.startswith(stem)))
            for group in MEANINGS]


@pytest.fixture
def embedder(monkeypatch):
    seen = []

    def fake(*, model, texts, workspace_id, source="embedding"):
        seen.append(list(texts))
        return EmbeddingResult(vectors=[embed(t) for t in texts],
                               usage=Usage(tokens_in=len(texts), tokens_out=0),
                               model_name=model.name)

    replace_door(monkeypatch, fake)
    return seen


def replace_door(monkeypatch, embed_texts) -> None:
    """Stand in for ``agents.services.calls`` (also before its provider modules exist)."""
    door = types.ModuleType("agents.services.calls")
    door.embed_texts = embed_texts
    monkeypatch.setitem(sys.modules, "agents.services.calls", door)
    monkeypatch.setattr(agents.services, "calls", door, raising=False)


@pytest.fixture
def kb(embedder, django_capture_on_commit_callbacks):
    kb = KnowledgeBaseFactory(chunk_size=200, chunk_overlap=20)
    kb.embedding_model = LLMModelFactory(workspace=kb.workspace, kind="embedding")
    kb.save()
    with django_capture_on_commit_callbacks(execute=True):
        for title, text in (("Returns", "Send the item back and we reimburse you."),
                            ("Shipping", "Parcels ship in two days."),
                            ("Accounts", "Forgot the password? Use the sign-in page.")):
            svc.document_create(knowledge_base=kb, title=title, text=text)
    return kb


def test_ingestion_stores_one_vector_per_chunk(kb, embedder):
    chunk = Chunk.objects.get(document__title="Returns")
    assert chunk.embedding == embed(chunk.text)
    assert embedder[0] == ["Send the item back and we reimburse you."]


def test_vectors_find_what_full_text_cannot(kb):
    # No document says "money": full text finds nothing, the vectors find the refund text.
    assert search_module.full_text(kb, "get my money refunded", limit=5) == []
    hits = search_module.search(kb, "get my money refunded", k=2)
    assert hits[0].document_title == "Returns"


def test_nearest_is_cosine_best_first(kb):
    ranked = vectors.nearest(kb, [0.0, 1.0, 0.0], 3)
    top = Chunk.objects.get(pk=ranked[0][0])
    assert top.document.title == "Shipping"
    assert ranked[0][1] == pytest.approx(1.0)
    assert [score for _, score in ranked] == sorted((s for _, s in ranked), reverse=True)


def test_provider_failure_fails_ingestion_and_degrades_search(kb, monkeypatch,
                                                              django_capture_on_commit_callbacks):
    def down(**kwargs):
        raise ProviderError("The provider answered 500.", code="server_error")

    replace_door(monkeypatch, down)
    with django_capture_on_commit_callbacks(execute=True):
        document = svc.document_create(knowledge_base=kb, title="Stores",
                                       text="Stores open at nine.")
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert document.error == "Embeddings failed: The provider answered 500."
    hits = search_module.search(kb, "parcels ship", k=3)
    assert [h.document_title for h in hits] == ["Shipping"]

"""Knowledge bases: documents in, chunks out, and retrieval scored against question sets.

Ingestion (a Celery job per document) extracts the text, chunks it with overlap and
exact offsets, and replaces the document's chunks in one transaction — a search never
sees half an index — filling ``search_vector`` on PostgreSQL and embeddings when the base
has a model.  The document's status and error tell the user how it went; the event
``agents.document.indexed`` tells everyone else.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from billing import entitlements
from core import events

from ..events import DOCUMENT_INDEXED
from ..knowledge import evaluation, extract
from ..knowledge.chunking import chunk_text
from ..knowledge.search import search
from ..models import Chunk, Document, EvaluationQuestion, EvaluationRun, KnowledgeBase

log = logging.getLogger(__name__)

#: Settings of a base that change its chunks: editing one re-indexes every document.
INDEXING_FIELDS = ("language", "chunk_size", "chunk_overlap", "embedding_model")
EMBED_BATCH = 64
MAX_K = 50


def _user(by):
    return by if getattr(by, "pk", None) else None


def _tasks():
    from ..tasks import knowledge as tasks  # imported when used: tasks import services

    return tasks


def _queue_ingestion(document: Document) -> None:
    pk = document.pk
    transaction.on_commit(lambda: _tasks().ingest_document.delay(pk))


# --- knowledge bases --------------------------------------------------------------------


@transaction.atomic
def knowledge_base_create(*, workspace, **fields) -> KnowledgeBase:
    """A new knowledge base, if the workspace's plan includes knowledge bases (402
    ``feature_not_in_plan`` otherwise).  API and admin create through here."""
    entitlements.require(workspace.pk, "knowledge_bases")
    knowledge_base = KnowledgeBase(workspace=workspace, **fields)
    knowledge_base.full_clean()
    knowledge_base.save()
    return knowledge_base


@transaction.atomic
def knowledge_base_update(knowledge_base: KnowledgeBase, **fields) -> KnowledgeBase:
    before = {name: getattr(knowledge_base, name) for name in INDEXING_FIELDS}
    fields.pop("workspace", None)
    for name, value in fields.items():
        setattr(knowledge_base, name, value)
    knowledge_base.full_clean()
    knowledge_base.save()
    if any(getattr(knowledge_base, name) != value for name, value in before.items()):
        for document in knowledge_base.documents.all():
            document_reindex(document)
    return knowledge_base


# --- documents --------------------------------------------------------------------------


def _check_file(file) -> None:
    if file is None:
        return
    try:
        extract.kind_of(file.content_type, file.name or file.file.name)
    except extract.ExtractionError as exc:
        raise ValidationError({"file": str(exc)}) from exc


@transaction.atomic
def document_create(*, knowledge_base: KnowledgeBase, title: str, text: str = "", file=None,
                    by=None, workspace=None) -> Document:
    """A document from typed ``text`` or an uploaded workspace ``file``; indexed on commit."""
    if workspace is not None and workspace.pk != knowledge_base.workspace_id:
        raise ValidationError({"knowledge_base": "This object belongs to another workspace."})
    _check_file(file)
    _require_storage(knowledge_base.workspace_id, len(text or ""))
    document = Document(workspace_id=knowledge_base.workspace_id,
                        knowledge_base=knowledge_base, title=title, text=text or "",
                        file=file, created_by=_user(by))
    document.full_clean()
    document.save()
    _queue_ingestion(document)
    return document


def _require_storage(workspace_id: int, characters: int) -> None:
    """Typed text is stored content: it counts to the plan's storage (a character a byte;
    an uploaded file counts once, as the workspace file it is)."""
    if characters > 0:
        entitlements.require(workspace_id, "storage_bytes", characters)


@transaction.atomic
def document_update(document: Document, **fields) -> Document:
    """Change title, content or base; new content, or a move to another base of the
    workspace, is re-indexed."""
    fields.pop("workspace", None)
    old_base = document.knowledge_base_id
    moved = "knowledge_base" in fields and fields["knowledge_base"].pk != old_base
    changed = moved or any(name in fields and fields[name] != getattr(document, name)
                           for name in ("text", "file"))
    if "text" in fields:
        _require_storage(document.workspace_id,
                         len(fields["text"] or "") - len(document.text or ""))
    for name, value in fields.items():
        setattr(document, name, value)
    if "file" in fields:
        _check_file(document.file)
    document.full_clean()
    document.save()
    if moved:
        # Its passages leave the old base at once (not when re-indexing ends), and the
        # old base's questions no longer expect it.
        document.chunks.all().delete()
        for question in EvaluationQuestion.objects.filter(knowledge_base_id=old_base,
                                                          expected_documents=document):
            question.expected_documents.remove(document)
    if changed:
        document_reindex(document)
    return document


@transaction.atomic
def document_reindex(document: Document) -> Document:
    """Index again (after a change of content or of the base's settings, or a failure)."""
    Document.objects.filter(pk=document.pk).update(status=Document.Status.PENDING, error="",
                                                   updated_at=timezone.now())
    document.status, document.error = Document.Status.PENDING, ""
    _queue_ingestion(document)
    return document


def document_ingest(document_id: int) -> Document | None:
    """Extract, chunk and index one document; safe to run twice (a redelivered task finds
    it ready with the same content and stops).  ``None``: the document is gone."""
    document = Document.objects.select_related("knowledge_base", "file").filter(
        pk=document_id).first()
    if document is None:
        return None
    kb = document.knowledge_base
    try:
        text, content_type = _document_text(document)
        checksum = hashlib.sha256(text.encode()).hexdigest()
        if document.status == Document.Status.READY and document.checksum == checksum:
            return document
        _set(document, status=Document.Status.PROCESSING, error="")
        pieces = chunk_text(text, size=kb.chunk_size, overlap=kb.chunk_overlap)
        if not pieces:
            raise extract.ExtractionError("The document has no text to index.")
        vectors = _embed(kb, [p.text for p in pieces]) if kb.embedding_model_id else None
    except Exception as exc:
        message = _failure(exc)
        _set(document, status=Document.Status.FAILED, error=message, chunk_count=0)
        events.emit(DOCUMENT_INDEXED, {"document": document.pk, "knowledge_base": kb.pk,
                                       "status": "failed", "chunks": 0, "error": message},
                    workspace_id=document.workspace_id)
        if not isinstance(exc, extract.ExtractionError | _provider_error()):
            raise
        return document
    with transaction.atomic():
        # The row lock orders concurrent ingestions of one document: the last one wins whole.
        Document.objects.select_for_update().filter(pk=document.pk).first()
        Chunk.objects.filter(document=document).delete()
        Chunk.objects.bulk_create([
            Chunk(workspace_id=document.workspace_id, knowledge_base=kb, document=document,
                  position=i, start_offset=p.start, end_offset=p.end, text=p.text,
                  embedding=vectors[i] if vectors else None)
            for i, p in enumerate(pieces)], batch_size=500)
        if connection.vendor == "postgresql":
            from django.contrib.postgres.search import SearchVector

            Chunk.objects.filter(document=document).update(
                search_vector=SearchVector("text", config=kb.language))
        _set(document, status=Document.Status.READY, error="", chunk_count=len(pieces),
             characters=len(text), checksum=checksum, content_type=content_type)
        events.emit(DOCUMENT_INDEXED, {"document": document.pk, "knowledge_base": kb.pk,
                                       "status": "ready", "chunks": len(pieces)},
                    workspace_id=document.workspace_id)
    return document


def _document_text(document: Document) -> tuple[str, str]:
    if document.file_id:
        return extract.file_text(document.file)
    if document.file is None and not document.text and document.content_type:
        raise extract.ExtractionError("The document's file was deleted.")
    return extract.extract(document.text.encode(), "text"), "text/plain"


def _embed(kb: KnowledgeBase, texts: list[str]) -> list[list[float]]:
    from . import calls  # HB's one door to providers

    vectors: list[list[float]] = []
    for i in range(0, len(texts), EMBED_BATCH):
        batch = texts[i:i + EMBED_BATCH]
        result = calls.embed_texts(model=kb.embedding_model, texts=batch,
                                   workspace_id=kb.workspace_id, source="embedding")
        if len(result.vectors) != len(batch):
            from ..providers.base import ProviderError

            raise ProviderError(f"The embeddings endpoint returned {len(result.vectors)} "
                                f"vectors for {len(batch)} texts.", code="bad_response")
        vectors.extend([float(x) for x in v] for v in result.vectors)
    return vectors


def _provider_error():
    from ..providers.base import ProviderError

    return ProviderError


def _failure(exc: Exception) -> str:
    if isinstance(exc, extract.ExtractionError):
        return str(exc)
    if isinstance(exc, _provider_error()):
        return f"Embeddings failed: {exc.message}"
    log.exception("indexing failed")
    return "Indexing failed on an internal error; try re-indexing, or report it."


def _set(document: Document, **fields) -> None:
    fields["updated_at"] = timezone.now()
    Document.objects.filter(pk=document.pk).update(**fields)
    for name, value in fields.items():
        setattr(document, name, value)


# --- evaluation -------------------------------------------------------------------------


def expected_documents_problem(knowledge_base, documents) -> str | None:
    """A question's expected sources must be documents of its own base."""
    strangers = [str(d) for d in documents if d.knowledge_base_id != knowledge_base.pk]
    if strangers:
        return f"Not documents of {knowledge_base}: {', '.join(strangers)}."
    return None


@transaction.atomic
def evaluation_start(*, knowledge_base: KnowledgeBase, k: int = 5, by=None) -> EvaluationRun:
    """Queue a scoring of the base's question set at ``k`` (run on commit)."""
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise ValidationError({"k": f"Between 1 and {MAX_K}."})
    count = EvaluationQuestion.objects.filter(knowledge_base=knowledge_base).count()
    if not count:
        raise ValidationError("This knowledge base has no evaluation questions yet.")
    run = EvaluationRun.objects.create(workspace_id=knowledge_base.workspace_id,
                                       knowledge_base=knowledge_base, k=k, questions=count,
                                       requested_by=_user(by))
    pk = run.pk
    transaction.on_commit(lambda: _tasks().evaluate.delay(pk))
    return run


def evaluation_run(run_id: int) -> EvaluationRun | None:
    """Score every question; a finished run is returned as it is (redelivery)."""
    run = EvaluationRun.objects.select_related("knowledge_base").filter(pk=run_id).first()
    if run is None or run.status in (EvaluationRun.Status.SUCCEEDED,
                                     EvaluationRun.Status.FAILED):
        return run
    EvaluationRun.objects.filter(pk=run.pk).update(status=EvaluationRun.Status.RUNNING)
    try:
        results, ranks = [], []
        questions = (EvaluationQuestion.objects.filter(knowledge_base=run.knowledge_base)
                     .prefetch_related("expected_documents").order_by("id"))
        for question in questions:
            expected = {d.pk for d in question.expected_documents.all()}
            hits = search(run.knowledge_base, question.question, k=run.k)
            rank = evaluation.first_rank([h.document_id for h in hits], expected, run.k)
            ranks.append(rank)
            results.append({"question": question.pk, "text": question.question,
                            "expected": sorted(expected),
                            "found": [{"document": h.document_id, "chunk": h.chunk_id}
                                      for h in hits],
                            "rank": rank, "hit": rank is not None,
                            "reciprocal_rank": 1.0 / rank if rank else 0.0})
        hit_rate, mrr = evaluation.scores(ranks)
        fields = {"status": EvaluationRun.Status.SUCCEEDED, "questions": len(ranks),
                  "hit_rate": hit_rate, "mrr": mrr, "results": results, "error": ""}
    except Exception as exc:
        log.exception("evaluation %s failed", run.pk)
        fields = {"status": EvaluationRun.Status.FAILED,
                  "error": f"The evaluation failed: {type(exc).__name__}."}
    fields["finished_at"] = timezone.now()
    EvaluationRun.objects.filter(pk=run.pk).update(**fields)
    run.refresh_from_db()
    return run

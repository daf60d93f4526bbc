"""Knowledge API: bases (+ `search/`, `evaluate/`), documents (+ `reindex/`), chunks and
evaluation runs (read), evaluation questions.  Registers on the kernel's router when
imported (``agents/api/urls.py`` imports it).

Writes go through ``agents.services.knowledge``; searching needs only to see the base
(viewers may search), evaluating and re-indexing need the role that may change it.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from core import tenancy
from core.api.routers import router
from core.api.serializers import BaseModelSerializer
from core.api.viewsets import ScopedModelViewSet, ScopedReadOnlyModelViewSet
from core.context import request_user

from .. import models as m
from ..knowledge.search import MAX_QUERY, search
from ..services import knowledge as svc

_TIMESTAMPS = ["created_at", "updated_at"]


class KnowledgeBaseSerializer(BaseModelSerializer):
    class Meta:
        model = m.KnowledgeBase
        fields = ["id", "workspace", "name", "description", "language", "chunk_size",
                  "chunk_overlap", "embedding_model", "metadata", *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class DocumentSerializer(BaseModelSerializer):
    class Meta:
        model = m.Document
        fields = ["id", "workspace", "knowledge_base", "title", "file", "text", "content_type",
                  "status", "error", "chunk_count", "characters", "checksum", "created_by",
                  *_TIMESTAMPS]
        read_only_fields = ["content_type", "status", "error", "chunk_count", "characters",
                            "checksum", "created_by", *_TIMESTAMPS]


class ChunkSerializer(BaseModelSerializer):
    class Meta:
        model = m.Chunk
        fields = ["id", "workspace", "knowledge_base", "document", "position", "start_offset",
                  "end_offset", "text"]


class EvaluationQuestionSerializer(BaseModelSerializer):
    class Meta:
        model = m.EvaluationQuestion
        fields = ["id", "workspace", "knowledge_base", "question", "expected_documents",
                  *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS

    def validate(self, attrs):
        attrs = super().validate(attrs)
        kb = attrs.get("knowledge_base") or getattr(self.instance, "knowledge_base", None)
        documents = attrs.get("expected_documents")
        if kb is not None and documents is not None:
            problem = svc.expected_documents_problem(kb, documents)
            if problem:
                raise serializers.ValidationError({"expected_documents": [problem]})
        return attrs


class EvaluationRunSerializer(BaseModelSerializer):
    class Meta:
        model = m.EvaluationRun
        fields = ["id", "workspace", "knowledge_base", "k", "status", "questions", "hit_rate",
                  "mrr", "results", "error", "created_at", "finished_at", "requested_by"]


class SearchSerializer(serializers.Serializer):
    query = serializers.CharField(max_length=MAX_QUERY, help_text="Words, \"a phrase\", "
                                  "-excluded, or: the web-search syntax.")
    k = serializers.IntegerField(min_value=1, max_value=svc.MAX_K, default=5)


class HitSerializer(serializers.Serializer):
    chunk = serializers.IntegerField()
    document = serializers.IntegerField()
    document_title = serializers.CharField()
    position = serializers.IntegerField()
    start_offset = serializers.IntegerField()
    end_offset = serializers.IntegerField()
    text = serializers.CharField()
    score = serializers.FloatField()
    rank = serializers.IntegerField()


class SearchResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    results = HitSerializer(many=True)


class EvaluateSerializer(serializers.Serializer):
    k = serializers.IntegerField(min_value=1, max_value=svc.MAX_K, default=5)


class SignedIn(BasePermission):
    """For actions on a visible row that check their own rule."""

    def has_permission(self, request, view) -> bool:
        return tenancy.principal_for(request).is_authenticated


def _require_change(request, obj, what: str) -> None:
    if not tenancy.can(tenancy.principal_for(request), obj, "change"):
        raise PermissionDenied(f"Your role in this workspace cannot {what}.")


class KnowledgeBaseViewSet(ScopedModelViewSet):
    """Knowledge bases: documents chunked and indexed for search (full text, fused with
    embeddings when `embedding_model` is set).  Changing language, chunking or model
    re-indexes every document."""

    queryset = m.KnowledgeBase.objects.all()
    serializer_class = KnowledgeBaseSerializer
    lookup_value_regex = "[0-9]+"

    def get_permissions(self):
        if self.action in ("search", "evaluate"):
            return [SignedIn()]
        return super().get_permissions()

    def perform_scoped_create(self, serializer):
        serializer.instance = svc.knowledge_base_create(**serializer.validated_data)

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.instance = svc.knowledge_base_update(serializer.instance,
                                                            **serializer.validated_data)

    @extend_schema(request=SearchSerializer, responses={200: SearchResultSerializer},
                   summary="Search the knowledge base",
                   description="The best `k` chunks, rank 1 first, each with its document "
                               "and its place in the document's text.")
    @action(detail=True, methods=["post"])
    def search(self, request, pk=None):
        kb = self.get_object()
        body = SearchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        hits = search(kb, body.validated_data["query"], k=body.validated_data["k"])
        return Response({"query": body.validated_data["query"],
                         "results": [hit.as_dict() for hit in hits]})

    @extend_schema(request=EvaluateSerializer, responses={202: EvaluationRunSerializer},
                   summary="Score retrieval on the question set (a background job)",
                   description="Hit rate@k and MRR over the base's evaluation questions; "
                               "poll `agents/evaluations/{id}/`.")
    @action(detail=True, methods=["post"])
    def evaluate(self, request, pk=None):
        kb = self.get_object()
        _require_change(request, kb, "evaluate knowledge bases")
        body = EvaluateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = svc.evaluation_start(knowledge_base=kb, k=body.validated_data["k"],
                                   by=request_user(request))
        return Response(EvaluationRunSerializer(run, context=self.get_serializer_context())
                        .data, status=status.HTTP_202_ACCEPTED)


class DocumentViewSet(ScopedModelViewSet):
    """Documents of knowledge bases, from `text` or an uploaded workspace `file` (PDF,
    HTML, Markdown, plain text); indexed in the background: watch `status` and `error`."""

    queryset = m.Document.objects.all()
    serializer_class = DocumentSerializer

    def get_permissions(self):
        if self.action == "reindex":
            return [SignedIn()]
        return super().get_permissions()

    def perform_scoped_create(self, serializer):
        serializer.instance = svc.document_create(by=request_user(self.request),
                                                  **serializer.validated_data)

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.instance = svc.document_update(serializer.instance,
                                                      **serializer.validated_data)

    @extend_schema(request=None, responses={202: DocumentSerializer},
                   summary="Index the document again")
    @action(detail=True, methods=["post"])
    def reindex(self, request, pk=None):
        document = self.get_object()
        _require_change(request, document, "re-index documents")
        document = svc.document_reindex(document)
        return Response(self.get_serializer(document).data, status=status.HTTP_202_ACCEPTED)


class ChunkViewSet(ScopedReadOnlyModelViewSet):
    """Passages of documents with their offsets into the extracted text (`?document=`)."""

    queryset = m.Chunk.objects.all()
    serializer_class = ChunkSerializer


class EvaluationQuestionViewSet(ScopedModelViewSet):
    """Questions with the documents a good search returns for them (any one is a hit)."""

    queryset = m.EvaluationQuestion.objects.all()
    serializer_class = EvaluationQuestionSerializer


class EvaluationRunViewSet(ScopedReadOnlyModelViewSet):
    """Scorings of knowledge bases: hit rate@k, MRR and per-question ranks, newest first."""

    queryset = m.EvaluationRun.objects.all()
    serializer_class = EvaluationRunSerializer


router.register("agents/knowledge-bases", KnowledgeBaseViewSet)
router.register("agents/documents", DocumentViewSet)
router.register("agents/chunks", ChunkViewSet)
router.register("agents/evaluation-questions", EvaluationQuestionViewSet)
router.register("agents/evaluations", EvaluationRunViewSet)

"""Back office of knowledge bases: bases with a search test box and an evaluate action,
documents (saved and re-indexed through the services), chunks and evaluation runs (read
only), evaluation questions.  Registers on import (``agents/admin/__init__.py``)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from core.admin.base import BaseModelAdmin, ReadOnlyModelAdmin
from core.admin.services import adopt

from .. import models as m
from ..knowledge import extract
from ..knowledge.search import MAX_QUERY, search
from ..services import knowledge as svc


def _said(exc: ValidationError) -> str:
    return "; ".join(exc.messages)


class DocumentInline(admin.TabularInline):
    model = m.Document
    fields = ("title", "status", "chunk_count", "error")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # documents are added on their own page, through the service


@admin.register(m.KnowledgeBase)
class KnowledgeBaseAdmin(BaseModelAdmin):
    list_display = ("name", "workspace", "language", "chunk_size", "chunk_overlap",
                    "embedding_model", "updated_at")
    list_filter = ("language",)
    search_fields = ("name",)
    inlines = [DocumentInline]
    actions = ["evaluate", "reindex"]
    change_form_template = "admin/agents/knowledgebase/change_form.html"
    object_pages = {"search": ("search/", "search_view")}

    def save_model(self, request, obj, form, change):
        if change:
            svc.knowledge_base_update(obj, **{f: getattr(obj, f) for f in form.changed_data
                                              if f in svc.INDEXING_FIELDS})
        else:  # through the service: the plan must include knowledge bases
            adopt(obj, svc.knowledge_base_create(workspace=obj.workspace, **{
                f.name: getattr(obj, f.name) for f in obj._meta.concrete_fields
                if f.editable and not f.primary_key and f.name != "workspace"}))

    def _allowed(self, request, queryset):
        for kb in queryset:
            if self.has_change_permission(request, kb):
                yield kb
            else:
                self.message_user(request, f"Not allowed to change {kb}.", messages.ERROR)

    @admin.action(description="Evaluate retrieval (hit rate@5, MRR)", permissions=["change"])
    def evaluate(self, request, queryset):
        for kb in self._allowed(request, queryset):
            try:
                run = svc.evaluation_start(knowledge_base=kb, k=5, by=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{kb}: {_said(exc)}", messages.ERROR)
            else:
                self.message_user(request, f"{kb}: evaluation {run.pk} queued "
                                           f"({run.questions} questions).", messages.SUCCESS)

    @admin.action(description="Re-index every document", permissions=["change"])
    def reindex(self, request, queryset):
        for kb in self._allowed(request, queryset):
            for document in kb.documents.all():
                svc.document_reindex(document)
            self.message_user(request, f"{kb}: re-indexing queued.", messages.SUCCESS)

    def search_view(self, request, object_id):
        kb = self.get_object_or_404(request, object_id)
        query = request.GET.get("q", "").strip()[:MAX_QUERY]
        error, hits = "", []
        try:
            k = min(max(int(request.GET.get("k", 5)), 1), svc.MAX_K)
        except ValueError:
            k, error = 5, "The number of results must be a whole number."
        if query and not error:
            hits = search(kb, query, k=k)
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "original": kb, "title": f"Search {kb}", "query": query, "k": k,
                   "hits": hits, "error": error}
        return TemplateResponse(request, "admin/agents/knowledgebase/search.html", context)


class DocumentForm(forms.ModelForm):
    class Meta:
        model = m.Document
        fields = ("workspace", "knowledge_base", "title", "file", "text")

    def clean_file(self):
        file = self.cleaned_data.get("file")
        if file is not None:
            try:
                extract.kind_of(file.content_type, file.name or file.file.name)
            except extract.ExtractionError as exc:
                raise ValidationError(str(exc)) from exc
        return file


@admin.register(m.Document)
class DocumentAdmin(BaseModelAdmin):
    form = DocumentForm
    list_display = ("title", "knowledge_base", "status", "chunk_count", "characters",
                    "updated_at")
    list_filter = ("status",)
    search_fields = ("title",)
    readonly_fields = ("content_type", "status", "error", "chunk_count", "characters",
                       "checksum", "created_by")
    actions = ["reindex"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "knowledge_base"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        if change:
            svc.document_update(obj, **{f: getattr(obj, f) for f in form.changed_data})
        else:
            doc = svc.document_create(knowledge_base=obj.knowledge_base, title=obj.title,
                                      text=obj.text, file=obj.file, by=request.user,
                                      workspace=obj.workspace)
            obj.pk = doc.pk

    @admin.action(description="Re-index", permissions=["change"])
    def reindex(self, request, queryset):
        count = 0
        for document in queryset:
            if self.has_change_permission(request, document):
                svc.document_reindex(document)
                count += 1
        self.message_user(request, f"Re-indexing {count} document(s).", messages.SUCCESS)


@admin.register(m.Chunk)
class ChunkAdmin(ReadOnlyModelAdmin):
    list_display = ("__str__", "knowledge_base", "position", "start_offset", "end_offset")
    # __str__ names the document.
    list_select_related = ("document", "knowledge_base")
    search_fields = ("text",)
    exclude = ("search_vector",)


@admin.register(m.EvaluationQuestion)
class EvaluationQuestionAdmin(BaseModelAdmin):
    list_display = ("__str__", "knowledge_base", "created_at")
    search_fields = ("question",)
    autocomplete_fields = ("knowledge_base", "expected_documents")

    def save_related(self, request, form, formsets, change):
        problem = svc.expected_documents_problem(
            form.instance.knowledge_base, form.cleaned_data.get("expected_documents", []))
        if problem:
            self.message_user(request, problem, messages.ERROR)
            form.cleaned_data["expected_documents"] = [
                d for d in form.cleaned_data["expected_documents"]
                if d.knowledge_base_id == form.instance.knowledge_base_id]
        super().save_related(request, form, formsets, change)


@admin.register(m.EvaluationRun)
class EvaluationRunAdmin(ReadOnlyModelAdmin):
    list_display = ("__str__", "knowledge_base", "k", "status", "questions", "hit_rate",
                    "mrr", "created_at")
    list_filter = ("status",)

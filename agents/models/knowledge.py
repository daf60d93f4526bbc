"""Knowledge bases: documents split into overlapping chunks, searched by full text (and
embeddings when a model is set), and question sets that measure retrieval."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core.indexes import PostgresGinIndex
from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped

from .common import same_workspace, validate_object

#: PostgreSQL text search configurations offered (stemming per language).
LANGUAGES = [("simple", "No stemming"), ("english", "English"), ("portuguese", "Portuguese"),
             ("spanish", "Spanish"), ("french", "French"), ("german", "German")]


class KnowledgeBase(WorkspaceScoped, TimestampedModel):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    language = models.CharField(max_length=16, choices=LANGUAGES, default="english",
                                help_text="Stemming and stop words of full-text search.")
    chunk_size = models.PositiveIntegerField(
        default=1000, validators=[MinValueValidator(100), MaxValueValidator(20_000)],
        help_text="Characters per chunk.")
    chunk_overlap = models.PositiveIntegerField(
        default=200, validators=[MaxValueValidator(10_000)],
        help_text="Characters shared by neighbouring chunks.")
    embedding_model = models.ForeignKey(
        "LLMModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="An embedding model: search then fuses full text with vectors "
                  "(blank: full text only).")
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_object])

    class Meta:
        ordering = ("name", "id")
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="agents_kb_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        same_workspace(self, "embedding_model")
        if self.chunk_overlap is not None and self.chunk_size is not None \
                and self.chunk_overlap >= self.chunk_size:
            raise ValidationError({"chunk_overlap": "The overlap must be smaller than a chunk."})
        if self.embedding_model_id and self.embedding_model.kind != "embedding":
            raise ValidationError({"embedding_model": "Pick an embedding model."})


class Document(WorkspaceScoped, TimestampedModel):
    """A source of knowledge: an uploaded workspace file (PDF, HTML, Markdown, text) or
    text typed in.  Ingestion (a Celery job) extracts, chunks and indexes it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE,
                                       related_name="documents")
    title = models.CharField(max_length=200)
    file = models.ForeignKey("workspaces.File", null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(blank=True, help_text="The content, when not from a file.")
    content_type = models.CharField(max_length=100, blank=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING,
                              editable=False)
    error = models.TextField(blank=True, editable=False)
    chunk_count = models.PositiveIntegerField(default=0, editable=False)
    characters = models.PositiveIntegerField(default=0, editable=False)
    checksum = models.CharField(max_length=64, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+", editable=False)

    class Meta:
        ordering = ("knowledge_base", "title", "id")

    def __str__(self) -> str:
        return self.title

    def clean(self):
        same_workspace(self, "knowledge_base", "file")
        if not self.file_id and not (self.text or "").strip():
            raise ValidationError("Give the text or pick an uploaded file.")
        if self.file_id and (self.text or "").strip():
            raise ValidationError("Give the text or pick a file, not both.")


class Chunk(WorkspaceScoped):
    """A passage of a document with where it came from; written by ingestion only."""

    append_only = True

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE,
                                       related_name="chunks")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField(help_text="Order in the document.")
    start_offset = models.PositiveIntegerField(help_text="First character in the document.")
    end_offset = models.PositiveIntegerField(help_text="One past the last character.")
    text = models.TextField()
    #: PostgreSQL only (filled by ingestion, GIN-indexed); NULL on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)
    embedding = models.JSONField(null=True, blank=True, editable=False,
                                 help_text="The embedding vector, when the base has a model.")

    class Meta:
        ordering = ("document", "position")
        indexes = [PostgresGinIndex(fields=["search_vector"], name="agents_chunk_search_gin")]
        constraints = [models.UniqueConstraint(fields=["document", "position"],
                                               name="agents_chunk_unique_position")]

    def __str__(self) -> str:
        return f"{self.document} #{self.position}"


class EvaluationQuestion(WorkspaceScoped, TimestampedModel):
    """A question with the documents a good search returns for it (RAG evaluation)."""

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE,
                                       related_name="questions")
    question = models.TextField()
    expected_documents = models.ManyToManyField(Document, related_name="+",
                                                help_text="Any of these counts as a hit.")

    class Meta:
        ordering = ("knowledge_base", "id")

    def __str__(self) -> str:
        return self.question[:80]

    def clean(self):
        same_workspace(self, "knowledge_base")


class EvaluationRun(WorkspaceScoped):
    """One scoring of a knowledge base's question set: hit rate@k and MRR, per question."""

    append_only = True

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE,
                                       related_name="evaluations")
    k = models.PositiveSmallIntegerField(default=5)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    questions = models.PositiveIntegerField(default=0)
    hit_rate = models.FloatField(
        null=True, blank=True,
        help_text="Share of questions with an expected source in the top k.")
    mrr = models.FloatField(null=True, blank=True, help_text="Mean reciprocal rank of the "
                                                             "first expected source.")
    results = models.JSONField(default=list, blank=True,
                               help_text="Per question: the ranks and sources found.")
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"Evaluation of {self.knowledge_base} ({self.get_status_display()})"

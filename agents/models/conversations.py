"""Conversations and what they cost: messages (with tool calls), feedback, and one
append-only usage log row per provider call, from chats, workflow nodes and the playground."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped

from .common import same_workspace, validate_object

_COST = {"max_digits": 16, "decimal_places": 8, "default": Decimal(0)}


class Conversation(WorkspaceScoped, TimestampedModel):
    """A thread of messages with an agent (or a bare model, from the playground)."""

    class Channel(models.TextChoices):
        API = "api", "API"
        ADMIN = "admin", "Admin test chat"
        WEBHOOK = "webhook", "Webhook trigger"
        SCHEDULE = "schedule", "Schedule trigger"
        EVENT = "event", "Event trigger"
        WORKFLOW = "workflow", "Workflow node"
        DELEGATION = "delegation", "Delegated by a supervisor"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    agent = models.ForeignKey("Agent", on_delete=models.CASCADE, related_name="conversations")
    configuration = models.ForeignKey(
        "AgentConfiguration", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", editable=False, help_text="The version that answered last.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+", editable=False)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="children", editable=False,
                               help_text="The supervisor's conversation that delegated this.")
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.API,
                               editable=False)
    title = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    external_id = models.CharField(max_length=120, blank=True, db_index=True,
                                   help_text="The caller's own id for the thread.")
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_object])
    tokens_in = models.PositiveBigIntegerField(default=0, editable=False)
    tokens_out = models.PositiveBigIntegerField(default=0, editable=False)
    cost = models.DecimalField(**_COST, editable=False)
    last_message_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["agent", "-created_at"], name="agents_conv_agent_idx")]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk} with {self.agent}"

    def clean(self):
        same_workspace(self, "agent")


class Message(WorkspaceScoped):
    """One turn: what the user said, what the model answered (text or tool calls), what
    a tool returned.  Written by the chat loop only."""

    append_only = True

    class Role(models.TextChoices):
        SYSTEM = "system", "System"
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"
        TOOL = "tool", "Tool"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="messages")
    sequence = models.PositiveIntegerField(help_text="Order in the conversation.")
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True)
    tool_calls = models.JSONField(default=list, blank=True,
                                  help_text='[{"id", "name", "arguments"}] the model asked for.')
    tool_call_id = models.CharField(max_length=120, blank=True,
                                    help_text="A tool message: the call it answers.")
    tool_name = models.CharField(max_length=64, blank=True)
    model = models.ForeignKey("LLMModel", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(**_COST)
    currency = models.CharField(max_length=3, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    finish_reason = models.CharField(max_length=32, blank=True,
                                     help_text="stop, length, tool_calls, error, …")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ("conversation", "sequence")
        constraints = [models.UniqueConstraint(fields=["conversation", "sequence"],
                                               name="agents_message_unique_sequence")]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.content[:60]}"


class MessageFeedback(WorkspaceScoped, TimestampedModel):
    """A person's rating of an answer (one per person and message)."""

    class Rating(models.IntegerChoices):
        NEGATIVE = -1, "Negative"
        POSITIVE = 1, "Positive"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    rating = models.SmallIntegerField(choices=Rating.choices)
    score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Optional score from 1 to 5.")
    comment = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+", editable=False)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name_plural = "message feedback"
        constraints = [models.UniqueConstraint(fields=["message", "by"],
                                               name="agents_feedback_unique_by")]

    def __str__(self) -> str:
        return f"{self.get_rating_display()} on message {self.message_id}"

    def clean(self):
        same_workspace(self, "message")


class LLMUsageLog(WorkspaceScoped):
    """One provider call: tokens as the provider reported them and the cost at the price
    in effect at the call's time.  Append-only: cost intelligence sums these rows."""

    append_only = True

    class Source(models.TextChoices):
        CHAT = "chat", "Agent chat"
        WORKFLOW = "workflow", "Workflow node"
        PLAYGROUND = "playground", "Playground"
        EMBEDDING = "embedding", "Embeddings"
        EVALUATION = "evaluation", "RAG evaluation"

    class Status(models.TextChoices):
        OK = "ok", "OK"
        ERROR = "error", "Error"

    created_at = models.DateTimeField(default=timezone.now, db_index=True,
                                      help_text="When the call started (prices apply from it).")
    source = models.CharField(max_length=16, choices=Source.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OK)
    provider = models.ForeignKey("LLMProvider", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    model = models.ForeignKey("LLMModel", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="usage_logs")
    model_name = models.CharField(max_length=120, help_text="The model as called.")
    price = models.ForeignKey("ModelPrice", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", help_text="The price applied (blank: none set).")
    agent = models.ForeignKey("Agent", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="usage_logs")
    conversation = models.ForeignKey(Conversation, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="usage_logs")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    workflow = models.ForeignKey("workflows.Workflow", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    execution = models.ForeignKey("workflows.Execution", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    node_key = models.CharField(max_length=64, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(**_COST)
    currency = models.CharField(max_length=3, default="USD")
    latency_ms = models.PositiveIntegerField(default=0)
    request_id = models.CharField(max_length=120, blank=True,
                                  help_text="The provider's id of the response.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["workspace", "created_at"], name="agents_usage_ws_time_idx"),
            models.Index(fields=["agent", "created_at"], name="agents_usage_agent_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.model_name} · {self.tokens_in}+{self.tokens_out} tokens"

"""Agents: versioned configurations, tools, fallback models, knowledge, quotas, triggers,
delegation, access, and what they record about themselves (errors, daily usage)."""

from __future__ import annotations

import secrets as _secrets
from decimal import Decimal

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import TimestampedModel
from core.tenancy import ADMIN, WorkspaceScoped

from .common import same_workspace, validate_capabilities, validate_json_schema, validate_object


class Agent(WorkspaceScoped, TimestampedModel):
    """An assistant that answers with a model, its tools and knowledge (the live version)."""

    class Kind(models.TextChoices):
        CHAT = "chat", "Chat"
        VOICE = "voice", "Voice"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ARCHIVED = "archived", "Archived"

    class AccessMode(models.TextChoices):
        WORKSPACE = "workspace", "Workspace roles"
        RESTRICTED = "restricted", "Only listed members and roles (and admins)"

    project = models.ForeignKey("workspaces.Project", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="agents")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CHAT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE,
                              help_text="Only active agents chat and fire their triggers.")
    access_mode = models.CharField(
        max_length=16, choices=AccessMode.choices, default=AccessMode.WORKSPACE,
        help_text="Workspace roles: members use and edit, viewers read. Restricted: "
                  "besides admins, only those granted access below.")
    live_configuration = models.ForeignKey(
        "AgentConfiguration", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", editable=False,
        help_text="The published version conversations use (set by publish and roll back).")
    capabilities = models.JSONField(default=list, blank=True, validators=[validate_capabilities],
                                    help_text="What the agent is meant to do, e.g. [\"tools\"].")
    settings = models.JSONField(default=dict, blank=True, validators=[validate_object])
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_object])
    performance_metrics = models.JSONField(
        default=dict, blank=True, editable=False,
        help_text="Kept by the daily rollup: conversations, cost, latency, satisfaction.")
    tags = models.ManyToManyField("workspaces.Tag", blank=True, related_name="agents")
    # Voice agents (kind "voice") live at a voice platform too (crm places their calls).
    voice_provider_agent_id = models.CharField(
        max_length=100, blank=True, help_text="The agent's id at the voice platform (Bolna).")
    voice = models.CharField(max_length=80, blank=True,
                             help_text="The voice it speaks with, by the platform's name.")
    voice_language = models.CharField(max_length=16, blank=True,
                                      help_text="BCP 47 language tag, e.g. pt-BR.")
    call_settings = models.JSONField(
        default=dict, blank=True, validators=[validate_object],
        help_text='Call options, e.g. {"max_duration_seconds": 600, "voicemail": "hang_up"}.')
    created_by = models.ForeignKey(django_settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("name", "id")
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="agents_agent_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        same_workspace(self, "project")


class AgentConfiguration(WorkspaceScoped, TimestampedModel):
    """One version of an agent's behaviour: edited as a draft, frozen when published."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="configurations")
    number = models.PositiveIntegerField(editable=False, default=0,
                                         help_text="Version number, given at publish (0: draft).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT,
                              editable=False)
    system_prompt = models.TextField(blank=True)
    model = models.ForeignKey("LLMModel", on_delete=models.PROTECT, related_name="+")
    temperature = models.DecimalField(
        max_digits=3, decimal_places=2, default=Decimal("0.70"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(2))])
    max_tokens = models.PositiveIntegerField(
        default=1024, validators=[MinValueValidator(1), MaxValueValidator(200_000)],
        help_text="The most tokens one answer may have (also what a call reserves).")
    max_steps = models.PositiveSmallIntegerField(
        default=6, validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="Model calls one chat turn may make (tool calls loop back).")
    tools = models.ManyToManyField("AgentTool", blank=True, related_name="configurations")
    response_format = models.JSONField(
        null=True, blank=True, validators=[validate_json_schema],
        help_text="A JSON Schema the answer must satisfy (blank: free text).")
    note = models.CharField(max_length=300, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_by = models.ForeignKey(django_settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     editable=False)

    class Meta:
        ordering = ("agent", "-number", "-id")
        constraints = [models.UniqueConstraint(
            fields=["agent", "number"], condition=Q(number__gt=0),
            name="agents_configuration_unique_number")]

    def __str__(self) -> str:
        return f"{self.agent} v{self.number}" if self.number else f"{self.agent} (draft)"

    def clean(self):
        same_workspace(self, "agent", "model")
        if self.pk and type(self).objects.filter(pk=self.pk, status=self.Status.PUBLISHED).exists():
            raise ValidationError("A published version is frozen: create a new draft to "
                                  "change the agent.", code="published")
        if self.model_id and self.model.kind != self.model.Kind.CHAT:
            raise ValidationError({"model": "Pick a chat model (this one makes embeddings)."})


def _frozen(configuration) -> None:
    if configuration is not None and configuration.status == AgentConfiguration.Status.PUBLISHED:
        raise ValidationError({"configuration": "This version is published and frozen: "
                                                "change a draft instead."})


class AgentModel(WorkspaceScoped, TimestampedModel):
    """A fallback model of a version, tried in order when the main one keeps failing."""

    configuration = models.ForeignKey(AgentConfiguration, on_delete=models.CASCADE,
                                      related_name="fallbacks")
    model = models.ForeignKey("LLMModel", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ("configuration", "position", "id")
        constraints = [models.UniqueConstraint(fields=["configuration", "model"],
                                               name="agents_fallback_unique_model")]

    def __str__(self) -> str:
        return f"{self.configuration} fallback {self.position}: {self.model}"

    def clean(self):
        same_workspace(self, "configuration", "model")
        _frozen(getattr(self, "configuration", None))


class AgentKnowledgeBase(WorkspaceScoped, TimestampedModel):
    """A knowledge base a version searches before answering (and offers as a tool)."""

    configuration = models.ForeignKey(AgentConfiguration, on_delete=models.CASCADE,
                                      related_name="knowledge")
    knowledge_base = models.ForeignKey("KnowledgeBase", on_delete=models.CASCADE,
                                       related_name="agent_links")
    top_k = models.PositiveSmallIntegerField(default=4, validators=[MinValueValidator(1),
                                                                    MaxValueValidator(50)])

    class Meta:
        ordering = ("configuration", "id")
        constraints = [models.UniqueConstraint(fields=["configuration", "knowledge_base"],
                                               name="agents_agentkb_unique")]

    def __str__(self) -> str:
        return f"{self.configuration} ← {self.knowledge_base}"

    def clean(self):
        same_workspace(self, "configuration", "knowledge_base")
        _frozen(getattr(self, "configuration", None))


class AgentTool(WorkspaceScoped, TimestampedModel):
    """Something the model may call: a workflow (its input schema is the tool's
    parameters), a knowledge search, or an HTTP request made by a workflow."""

    class Kind(models.TextChoices):
        WORKFLOW = "workflow", "Run a workflow"
        KNOWLEDGE_SEARCH = "knowledge_search", "Search a knowledge base"
        HTTP_WORKFLOW = "http_workflow", "HTTP request through a workflow"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="tools")
    name = models.CharField(max_length=64, help_text="The function name the model sees: "
                                                     "letters, digits, _ and -.")
    description = models.TextField(help_text="When the model should call it.")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    workflow = models.ForeignKey("workflows.Workflow", null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="agent_tools")
    knowledge_base = models.ForeignKey("KnowledgeBase", null=True, blank=True,
                                       on_delete=models.CASCADE, related_name="tools")
    input_schema = models.JSONField(
        default=dict, blank=True, validators=[validate_json_schema],
        help_text="Parameters as JSON Schema ({}: the workflow's input schema).")
    timeout = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1),
                                                                  MaxValueValidator(900)])
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ("agent", "name")
        constraints = [models.UniqueConstraint(fields=["agent", "name"],
                                               name="agents_tool_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        import re

        same_workspace(self, "agent", "workflow", "knowledge_base")
        if self.name and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", self.name):
            raise ValidationError({"name": "Letters, digits, _ and - only (what providers "
                                           "accept as a function name)."})
        needs_workflow = self.kind in (self.Kind.WORKFLOW, self.Kind.HTTP_WORKFLOW)
        if needs_workflow and not self.workflow_id:
            raise ValidationError({"workflow": "Pick the workflow this tool runs."})
        if self.kind == self.Kind.KNOWLEDGE_SEARCH and not self.knowledge_base_id:
            raise ValidationError({"knowledge_base": "Pick the knowledge base to search."})


class AgentQuota(WorkspaceScoped, TimestampedModel):
    """A ceiling on tokens and cost per day or month, for one agent or (blank) the whole
    workspace.  Calls reserve their worst case before they start and settle after, so
    parallel calls cannot overshoot."""

    tenancy_write_role = ADMIN

    class Period(models.TextChoices):
        DAY = "day", "Day"
        MONTH = "month", "Month"

    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="quotas", help_text="Blank: every agent and "
                                                               "model call of the workspace.")
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH)
    max_tokens = models.PositiveBigIntegerField(null=True, blank=True,
                                                help_text="Blank: no token limit.")
    max_cost = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True,
                                   validators=[MinValueValidator(Decimal(0))],
                                   help_text="Blank: no cost limit.")
    currency = models.CharField(max_length=3, default="USD")
    enabled = models.BooleanField(default=True)
    period_start = models.DateTimeField(null=True, blank=True, editable=False)
    tokens_used = models.PositiveBigIntegerField(default=0, editable=False)
    cost_used = models.DecimalField(max_digits=16, decimal_places=8, default=Decimal(0),
                                    editable=False)
    tokens_reserved = models.PositiveBigIntegerField(default=0, editable=False)
    cost_reserved = models.DecimalField(max_digits=16, decimal_places=8, default=Decimal(0),
                                        editable=False)
    alerted_percent = models.PositiveSmallIntegerField(
        default=0, editable=False, help_text="The last alert sent this period (80 or 100).")

    class Meta:
        ordering = ("agent", "period", "id")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "agent", "period"],
                                    name="agents_quota_unique_agent_period"),
            models.UniqueConstraint(fields=["workspace", "period"],
                                    condition=Q(agent__isnull=True),
                                    name="agents_quota_unique_workspace_period"),
        ]

    def __str__(self) -> str:
        who = self.agent or "workspace"
        return f"{who} per {self.period}"

    def clean(self):
        same_workspace(self, "agent")
        if self.max_tokens is None and self.max_cost is None:
            raise ValidationError("Set a token limit, a cost limit or both.")


def _webhook_token() -> str:
    return _secrets.token_urlsafe(32)


class AgentTrigger(WorkspaceScoped, TimestampedModel):
    """What starts a conversation without a person: a webhook, a schedule or an event."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        SCHEDULE = "schedule", "Schedule"
        EVENT = "event", "Event"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="triggers")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=120, blank=True)
    enabled = models.BooleanField(default=True)
    config = models.JSONField(
        default=dict, blank=True, validators=[validate_object],
        help_text='schedule: {"cron": "0 8 * * 1", "timezone": "UTC", "message": "…"}; '
                  'event: {"event": "workflows.execution.failed", "message": "… {{ payload }}"}; '
                  'webhook: {"message_field": "message"}.')
    webhook_token = models.CharField(max_length=64, unique=True, default=_webhook_token,
                                     editable=False)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, editable=False,
        on_delete=models.SET_NULL, related_name="+")
    last_fired_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("agent", "kind", "id")

    def __str__(self) -> str:
        return self.name or f"{self.get_kind_display()} trigger of {self.agent}"

    def clean(self):
        same_workspace(self, "agent")


class AgentHierarchy(WorkspaceScoped, TimestampedModel):
    """A supervisor may delegate to a sub-agent (offered to its model as a tool)."""

    supervisor = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="delegates")
    sub_agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="supervisors")
    description = models.TextField(blank=True, help_text="When to delegate to it.")

    class Meta:
        ordering = ("supervisor", "id")
        verbose_name_plural = "agent hierarchies"
        constraints = [
            models.UniqueConstraint(fields=["supervisor", "sub_agent"],
                                    name="agents_hierarchy_unique"),
            models.CheckConstraint(condition=~Q(supervisor=models.F("sub_agent")),
                                   name="agents_hierarchy_not_self",
                                   violation_error_message="An agent cannot delegate to itself."),
        ]

    def __str__(self) -> str:
        return f"{self.supervisor} → {self.sub_agent}"

    def clean(self):
        same_workspace(self, "supervisor", "sub_agent")
        if not (self.supervisor_id and self.sub_agent_id):
            return
        if self.supervisor_id == self.sub_agent_id:
            raise ValidationError({"sub_agent": "An agent cannot delegate to itself."})
        # A cycle would let delegation loop; the depth limit would stop it, but late.
        seen, frontier = {self.supervisor_id}, {self.sub_agent_id}
        while frontier:
            if frontier & seen:
                raise ValidationError({"sub_agent": "This would make a delegation cycle."})
            seen |= frontier
            frontier = set(type(self).objects.filter(supervisor_id__in=frontier)
                           .exclude(pk=self.pk).values_list("sub_agent_id", flat=True))


class AgentAccess(WorkspaceScoped, TimestampedModel):
    """Use or edit an agent, granted to a member or a custom role."""

    tenancy_write_role = ADMIN

    class Access(models.TextChoices):
        USE = "use", "Use"
        EDIT = "edit", "Edit"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="access")
    user = models.ForeignKey(django_settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    role = models.ForeignKey("workspaces.Role", null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    access = models.CharField(max_length=8, choices=Access.choices, default=Access.USE)

    class Meta:
        ordering = ("agent", "id")
        verbose_name_plural = "agent access"
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, role__isnull=True)
                | Q(user__isnull=True, role__isnull=False),
                name="agents_access_user_or_role",
                violation_error_message="Grant to a member or a role, not both."),
            models.UniqueConstraint(fields=["agent", "user"], condition=Q(user__isnull=False),
                                    name="agents_access_unique_user"),
            models.UniqueConstraint(fields=["agent", "role"], condition=Q(role__isnull=False),
                                    name="agents_access_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.get_access_display()} {self.agent} for {self.user or self.role}"

    def clean(self):
        same_workspace(self, "agent", "role")


class AgentErrorLog(WorkspaceScoped):
    """Something that went wrong in a conversation: provider, tool, quota, output."""

    append_only = True

    class Kind(models.TextChoices):
        PROVIDER = "provider", "Provider error"
        TOOL = "tool", "Tool error"
        QUOTA = "quota", "Quota exhausted"
        OUTPUT = "output", "Invalid output"
        LIMIT = "limit", "Step or depth limit"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="errors")
    conversation = models.ForeignKey("Conversation", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    message = models.TextField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:60]}"


class AgentUsageMetric(WorkspaceScoped):
    """One agent's day, rolled up from messages, usage logs and feedback (beat, nightly)."""

    append_only = True

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="usage_metrics")
    day = models.DateField()
    conversations = models.PositiveIntegerField(default=0)
    messages = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0, help_text="Provider calls.")
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=16, decimal_places=8, default=Decimal(0))
    errors = models.PositiveIntegerField(default=0)
    latency_p50_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_p95_ms = models.PositiveIntegerField(null=True, blank=True)
    positive_feedback = models.PositiveIntegerField(default=0)
    negative_feedback = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-day", "agent")
        constraints = [models.UniqueConstraint(fields=["agent", "day"],
                                               name="agents_usage_metric_unique_day")]

    def __str__(self) -> str:
        return f"{self.agent} on {self.day}"

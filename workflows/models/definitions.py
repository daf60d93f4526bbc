"""What a workflow is: its draft graph, published versions, live deployments, triggers."""

from __future__ import annotations

import secrets as _secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.validators import validate_timezone
from core.models import TimestampedModel
from core.tenancy import WorkspaceScoped

from ..policies import validate_json_schema, validate_node_key, validate_retry_policy

MAX_TIMEOUT = 7 * 86_400  # seconds: a week


def _same_workspace(obj, *related) -> None:
    for name in related:
        other = getattr(obj, name, None)
        if other is not None and obj.workspace_id and other.workspace_id != obj.workspace_id:
            raise ValidationError({name: "This object belongs to another workspace."})


class Workflow(WorkspaceScoped, TimestampedModel):
    """A graph of nodes edited as a draft; executions run its published versions."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ARCHIVED = "archived", "Archived"

    project = models.ForeignKey("workspaces.Project", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="workflows")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT,
        help_text="Only active workflows fire their webhook, schedule and event triggers.")
    version = models.PositiveIntegerField(
        default=0, editable=False, help_text="The latest published version (0: never).")
    execution_timeout = models.PositiveIntegerField(
        default=3600, validators=[MinValueValidator(1), MaxValueValidator(MAX_TIMEOUT)],
        help_text="Seconds an execution may run in all before it is timed out.")
    retry_policy = models.JSONField(
        default=dict, blank=True, validators=[validate_retry_policy],
        help_text='Default for every node: {"max_attempts": 3, "backoff": 2, '
                  '"jitter": 0.2, "max_delay": 300} (seconds).')
    concurrency_limit = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="Executions running at once; more wait queued, in order. Blank: no limit.")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    tags = models.ManyToManyField("workspaces.Tag", blank=True, related_name="workflows")
    metadata = models.JSONField(default=dict, blank=True)
    input_schema = models.JSONField(
        default=dict, blank=True, validators=[validate_json_schema],
        help_text="JSON Schema the input of every execution must satisfy ({}: anything).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("name", "id")
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="workflows_workflow_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        _same_workspace(self, "project")


class Node(WorkspaceScoped, TimestampedModel):
    """One step of a workflow's draft graph."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="nodes")
    key = models.CharField(max_length=64, validators=[validate_node_key],
                           help_text="Unique in the workflow; expressions name the node by "
                                     "it: {{ nodes.<key>.output }}.")
    type = models.CharField(max_length=64, help_text="A node type key, e.g. http_request.")
    name = models.CharField(max_length=120, blank=True)
    config = models.JSONField(default=dict, blank=True,
                              help_text="Settings, validated against the type's JSON Schema; "
                                        "strings may hold {{ expressions }}.")
    position_x = models.IntegerField(default=0)
    position_y = models.IntegerField(default=0)
    retry_policy = models.JSONField(null=True, blank=True, validators=[validate_retry_policy],
                                    help_text="Overrides the workflow's retry policy.")
    timeout = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(MAX_TIMEOUT)],
        help_text="Seconds one attempt may run. Blank: the type's default.")
    continue_on_fail = models.BooleanField(
        default=False, help_text="A failure goes on through the error output instead of "
                                 "failing the execution.")
    disabled = models.BooleanField(default=False,
                                   help_text="Skipped: its input passes through unchanged.")

    class Meta:
        ordering = ("workflow", "position_x", "key")
        constraints = [models.UniqueConstraint(fields=["workflow", "key"],
                                               name="workflows_node_unique_key")]

    def __str__(self) -> str:
        return f"{self.workflow} · {self.key}"

    def clean(self):
        _same_workspace(self, "workflow")
        from ..nodes import registry

        node_type = registry.find(self.type)
        if node_type is None:
            raise ValidationError({"type": f"No node type {self.type!r}; the catalogue "
                                           "lists them (/api/v1/workflows/node-types/)."})
        problems = registry.config_errors(node_type, self.config)
        if problems:
            raise ValidationError({"config": problems})


class Connection(WorkspaceScoped, TimestampedModel):
    """An edge: the source node's output port feeds the target node's input port."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="connections")
    source = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="outgoing")
    source_output = models.CharField(max_length=40, default="main")
    target = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="incoming")
    target_input = models.CharField(max_length=40, default="main")

    class Meta:
        ordering = ("workflow", "id")
        constraints = [models.UniqueConstraint(
            fields=["source", "source_output", "target", "target_input"],
            name="workflows_connection_unique")]

    def __str__(self) -> str:
        return f"{self.source.key}.{self.source_output} → {self.target.key}.{self.target_input}"

    def clean(self):
        _same_workspace(self, "workflow", "source", "target")
        for name in ("source", "target"):
            node = getattr(self, name, None)
            if node is not None and self.workflow_id and node.workflow_id != self.workflow_id:
                raise ValidationError({name: "This node belongs to another workflow."})


class WorkflowVersion(WorkspaceScoped):
    """The graph and settings frozen at publish: what executions run (immutable)."""

    append_only = True

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField(help_text="Nodes, connections and settings as published.")
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the canonical graph.")
    note = models.CharField(max_length=300, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ("workflow", "-number")
        constraints = [models.UniqueConstraint(fields=["workflow", "number"],
                                               name="workflows_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.workflow} v{self.number}"


class WorkflowShare(WorkspaceScoped, TimestampedModel):
    """Access to one workflow for a member or a custom role beyond their workspace role."""

    class Access(models.TextChoices):
        VIEW = "view", "View"
        RUN = "run", "Run"
        EDIT = "edit", "Edit"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    role = models.ForeignKey("workspaces.Role", null=True, blank=True,
                             on_delete=models.CASCADE, related_name="+")
    access = models.CharField(max_length=8, choices=Access.choices, default=Access.RUN)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ("workflow", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, role__isnull=True)
                | Q(user__isnull=True, role__isnull=False),
                name="workflows_share_user_or_role",
                violation_error_message="Share with a member or a role, not both."),
            models.UniqueConstraint(fields=["workflow", "user"], condition=Q(user__isnull=False),
                                    name="workflows_share_unique_user"),
            models.UniqueConstraint(fields=["workflow", "role"], condition=Q(role__isnull=False),
                                    name="workflows_share_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow}: {self.user or self.role} may {self.access}"

    def clean(self):
        _same_workspace(self, "workflow")


class Deployment(WorkspaceScoped):
    """A published version made live in an environment; rolling back activates an older one."""

    append_only = True  # made by the deploy service only

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="deployments")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT,
                                related_name="deployments")
    environment = models.CharField(max_length=40, default="production")
    is_active = models.BooleanField(default=True)
    activated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    activated_at = models.DateTimeField(default=timezone.now, db_index=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("workflow", "-activated_at", "-id")
        constraints = [models.UniqueConstraint(
            fields=["workflow", "environment"], condition=Q(is_active=True),
            name="workflows_deployment_one_active")]

    def __str__(self) -> str:
        return f"{self.version} in {self.environment}"


def _webhook_token() -> str:
    return _secrets.token_urlsafe(24)


class Trigger(WorkspaceScoped, TimestampedModel):
    """What starts executions of a workflow's live deployment."""

    class Kind(models.TextChoices):
        MANUAL = "manual", "Manual"
        WEBHOOK = "webhook", "Webhook"
        SCHEDULE = "schedule", "Schedule"
        EVENT = "event", "Event"

    sensitive_fields = ("secret_ciphertext",)

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="triggers")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=120, blank=True)
    enabled = models.BooleanField(default=True)
    config = models.JSONField(
        default=dict, blank=True,
        help_text='schedule: {"cron": "0 2 * * *", "timezone": "UTC"}; event: '
                  '{"event": "analytics.import.succeeded"}; webhook: {"auth": "hmac" or '
                  '"token", "max_body_bytes": 1048576}.')
    webhook_token = models.CharField(
        max_length=64, unique=True, default=_webhook_token, editable=False,
        help_text="The webhook URL's unguessable part.")
    secret_ciphertext = models.TextField(blank=True, editable=False,
                                         help_text="HMAC or token secret, encrypted.")
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, editable=False,
        on_delete=models.SET_NULL, related_name="+")
    last_fired_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("workflow", "kind", "id")

    def __str__(self) -> str:
        return self.name or f"{self.get_kind_display()} trigger of {self.workflow}"

    def clean(self):
        _same_workspace(self, "workflow")

"""Runs: an execution is a trace of one run of a version, each node attempt a span."""

from __future__ import annotations

import secrets as _secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.tenancy import WorkspaceScoped


def _trace_id() -> str:
    return _secrets.token_hex(16)  # W3C trace-id: 16 bytes, lower-case hex


def _span_id() -> str:
    return _secrets.token_hex(8)  # W3C parent-id: 8 bytes


def _data_path(instance, filename: str) -> str:
    return f"workflows/{instance.workspace_id}/executions/{filename}"


class Execution(WorkspaceScoped):
    """One run of a workflow version (the predecessors' workflow_executions and traces)."""

    append_only = True

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        TIMED_OUT = "timed_out", "Timed out"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.TIMED_OUT)

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        WEBHOOK = "webhook", "Webhook"
        SCHEDULE = "schedule", "Schedule"
        EVENT = "event", "Event"
        RERUN = "rerun", "Re-run"
        SUBWORKFLOW = "subworkflow", "Sub-workflow"
        AGENT = "agent", "Agent tool"

    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE,
                                 related_name="executions")
    version = models.ForeignKey("workflows.WorkflowVersion", on_delete=models.PROTECT,
                                related_name="executions")
    trigger = models.ForeignKey("workflows.Trigger", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="executions")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED,
                              db_index=True)
    input = models.JSONField(default=dict, blank=True)
    input_file = models.FileField(upload_to=_data_path, blank=True, max_length=300,
                                  help_text="The input, when larger than the inline limit.")
    output = models.JSONField(null=True, blank=True)
    output_file = models.FileField(upload_to=_data_path, blank=True, max_length=300)
    error = models.TextField(blank=True)
    failed_node = models.CharField(max_length=64, blank=True)
    attempt = models.PositiveIntegerField(default=1, help_text="1 + the re-runs before it.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="reruns", help_text="The execution re-run.")
    rerun_from = models.CharField(max_length=64, blank=True,
                                  help_text="Node the re-run started from (blank: the start).")
    caller = models.ForeignKey("workflows.NodeExecution", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="subexecutions",
                               help_text="The sub-workflow node that started this one.")
    depth = models.PositiveSmallIntegerField(default=0, help_text="Sub-workflow nesting.")
    trace_id = models.CharField(max_length=32, default=_trace_id, unique=True)
    idempotency_key = models.CharField(max_length=200, blank=True,
                                       help_text="One execution per trigger and key.")
    slot = models.DateTimeField(null=True, blank=True,
                                help_text="The schedule time a scheduled run is for.")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    cancel_requested = models.BooleanField(default=False)
    queued_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True,
                                       help_text="Timed out if not finished by then.")
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveBigIntegerField(null=True, blank=True)
    nodes_total = models.PositiveIntegerField(default=0)
    nodes_succeeded = models.PositiveIntegerField(default=0)
    nodes_failed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-queued_at", "-id")
        constraints = [
            models.UniqueConstraint(fields=["trigger", "idempotency_key"],
                                    condition=~Q(idempotency_key=""),
                                    name="workflows_execution_unique_key"),
            models.UniqueConstraint(fields=["trigger", "slot"], condition=Q(slot__isnull=False),
                                    name="workflows_execution_unique_slot"),
        ]
        indexes = [models.Index(fields=["workflow", "status", "queued_at"],
                                name="workflows_exec_queue_idx")]

    def __str__(self) -> str:
        return f"{self.workflow} #{self.pk}"


class NodeExecution(WorkspaceScoped):
    """One attempt of one node in an execution (a span; the predecessors' node_executions)."""

    append_only = True

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # waiting for a retry's backoff or a wait node
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Cancelled"
        TIMED_OUT = "timed_out", "Timed out"

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="spans")
    node_key = models.CharField(max_length=64)
    node_type = models.CharField(max_length=64)
    node_name = models.CharField(max_length=120, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED,
                              db_index=True)
    span_id = models.CharField(max_length=16, default=_span_id)
    parent_span_id = models.CharField(max_length=16, blank=True)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    output_file = models.FileField(upload_to=_data_path, blank=True, max_length=300,
                                   help_text="The output, when larger than the inline limit.")
    output_port = models.CharField(max_length=40, blank=True,
                                   help_text="The output taken (main, true, false, error…).")
    error = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=100, blank=True)
    reused_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+",
                                    help_text="A re-run's span copied from this one.")
    not_before = models.DateTimeField(null=True, blank=True,
                                      help_text="Retry backoff or wait: not run before then.")
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="The worker's last sign of life while running.")
    deadline_at = models.DateTimeField(
        null=True, blank=True, help_text="Timed out if still running then (the attempt's timeout).")
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("execution", "id")
        verbose_name = "node execution (span)"
        verbose_name_plural = "node executions (spans)"
        constraints = [models.UniqueConstraint(fields=["execution", "node_key", "attempt"],
                                               name="workflows_span_unique_attempt")]

    def __str__(self) -> str:
        return f"{self.node_key} (attempt {self.attempt})"


class ExecutionMetric(WorkspaceScoped):
    """Per workflow and day: executions by status and their duration percentiles."""

    append_only = True

    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE,
                                 related_name="metrics")
    date = models.DateField()
    total = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    timed_out = models.PositiveIntegerField(default=0)
    p50_ms = models.PositiveBigIntegerField(null=True, blank=True)
    p95_ms = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("-date", "workflow")
        constraints = [models.UniqueConstraint(fields=["workflow", "date"],
                                               name="workflows_metric_unique_day")]

    def __str__(self) -> str:
        return f"{self.workflow} on {self.date}"

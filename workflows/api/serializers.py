"""Serializers of workflows: definitions are written here (through the services),
versions, deployments, executions, spans, metrics and the catalogue only read."""

from rest_framework import serializers

from core.api.serializers import BaseModelSerializer
from workflows import models as m

_TIMESTAMPS = ["created_at", "updated_at"]


class WorkflowSerializer(BaseModelSerializer):
    class Meta:
        model = m.Workflow
        fields = ["id", "workspace", "project", "name", "description", "status", "version",
                  "execution_timeout", "retry_policy", "concurrency_limit", "timezone", "tags",
                  "metadata", "input_schema", "created_by", *_TIMESTAMPS]
        read_only_fields = ["version", "created_by", *_TIMESTAMPS]
        extra_kwargs = {"tags": {"required": False}}


class NodeSerializer(BaseModelSerializer):
    class Meta:
        model = m.Node
        fields = ["id", "workspace", "workflow", "key", "type", "name", "config", "position_x",
                  "position_y", "retry_policy", "timeout", "continue_on_fail", "disabled",
                  *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class ConnectionSerializer(BaseModelSerializer):
    class Meta:
        model = m.Connection
        fields = ["id", "workspace", "workflow", "source", "source_output", "target",
                  "target_input", *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class TriggerSerializer(BaseModelSerializer):
    class Meta:
        model = m.Trigger
        fields = ["id", "workspace", "workflow", "kind", "name", "enabled", "config",
                  "webhook_token", "periodic_task", "last_fired_at", *_TIMESTAMPS]
        read_only_fields = ["webhook_token", "periodic_task", "last_fired_at", *_TIMESTAMPS]


class TriggerCreatedSerializer(TriggerSerializer):
    secret = serializers.SerializerMethodField(
        help_text="A webhook trigger's secret (HMAC key or token), shown once, at creation; "
                  "null for other kinds.")

    class Meta(TriggerSerializer.Meta):
        fields = [*TriggerSerializer.Meta.fields, "secret"]

    def get_secret(self, obj) -> str | None:
        return getattr(obj, "new_secret", None)


class WorkflowShareSerializer(BaseModelSerializer):
    class Meta:
        model = m.WorkflowShare
        fields = ["id", "workspace", "workflow", "user", "role", "access", "granted_by",
                  *_TIMESTAMPS]
        read_only_fields = ["granted_by", *_TIMESTAMPS]


class WorkflowVersionSerializer(BaseModelSerializer):
    class Meta:
        model = m.WorkflowVersion
        fields = ["id", "workspace", "workflow", "number", "graph", "checksum", "note",
                  "published_by", "published_at"]


class DeploymentSerializer(BaseModelSerializer):
    class Meta:
        model = m.Deployment
        fields = ["id", "workspace", "workflow", "version", "environment", "is_active",
                  "activated_by", "activated_at", "deactivated_at"]


class ExecutionSerializer(BaseModelSerializer):
    class Meta:
        model = m.Execution
        fields = ["id", "workspace", "workflow", "version", "trigger", "source", "status",
                  "input", "output", "error", "failed_node", "attempt", "parent", "rerun_from",
                  "caller", "depth", "trace_id", "idempotency_key", "slot", "started_by",
                  "cancel_requested", "queued_at", "started_at", "deadline_at", "finished_at",
                  "duration_ms", "nodes_total", "nodes_succeeded", "nodes_failed"]


class NodeExecutionSerializer(BaseModelSerializer):
    class Meta:
        model = m.NodeExecution
        fields = ["id", "workspace", "execution", "node_key", "node_type", "node_name",
                  "attempt", "status", "span_id", "parent_span_id", "input", "output",
                  "output_port", "error", "idempotency_key", "reused_from", "not_before",
                  "started_at", "heartbeat_at", "deadline_at", "finished_at", "duration_ms"]


class ExecutionMetricSerializer(BaseModelSerializer):
    class Meta:
        model = m.ExecutionMetric
        fields = ["id", "workspace", "workflow", "date", "total", "succeeded", "failed",
                  "cancelled", "timed_out", "p50_ms", "p95_ms"]


class NodeCategorySerializer(BaseModelSerializer):
    class Meta:
        model = m.NodeCategory
        fields = ["id", "key", "name", "description", "position"]


class NodeTypeSerializer(BaseModelSerializer):
    class Meta:
        model = m.NodeType
        fields = ["id", "key", "category", "name", "description", "version", "config_schema",
                  "inputs", "outputs", "is_trigger", "side_effects"]


# --- action bodies ----------------------------------------------------------------------


class ProblemSerializer(serializers.Serializer):
    node = serializers.CharField(allow_null=True, help_text="The node's key; null: the graph.")
    field = serializers.CharField(help_text="e.g. `config.url`, `connections`, `type`.")
    message = serializers.CharField()


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    problems = ProblemSerializer(many=True)


class PublishSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="",
                                 help_text="What changed, shown with the version.")


class DeploySerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1, max_value=2_147_483_647,
        help_text="The version number to make live (default: the latest); an older one "
                  "rolls back.")
    environment = serializers.RegexField(
        r"^[A-Za-z0-9_.-]{1,40}$", max_length=40, required=False, default="production",
        help_text="Letters, digits, `_.-`; `production` is what triggers run.")


class ExecuteSerializer(serializers.Serializer):
    input = serializers.JSONField(required=False, default=dict,
                                  help_text="Checked against the workflow's input schema.")
    version = serializers.IntegerField(
        required=False, min_value=1, max_value=2_147_483_647,
        help_text="Run this version number (default: the live version).")
    wait = serializers.FloatField(
        required=False, min_value=0, max_value=30, default=0,
        help_text="Seconds (≤ 30) to wait for the result: 200 with the finished execution "
                  "if it finishes in time, else 202.")


class RerunSerializer(serializers.Serializer):
    from_node = serializers.CharField(
        required=False, allow_blank=True, max_length=64,
        help_text="Start again from this node, reusing earlier outputs (default: the start).")
    current_version = serializers.BooleanField(
        required=False, default=False,
        help_text="Run the workflow's live version instead of the one it ran.")


class ImportSerializer(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1, max_value=2_147_483_647,
                                         help_text="The workspace to create it in.")
    name = serializers.CharField(required=False, allow_blank=True, max_length=120,
                                 help_text="Import under this name (default: the export's).")
    data = serializers.JSONField(help_text="An export (`GET …/export/`): "
                                           "`{\"format\": \"synapscale.workflow/1\", ...}`.")


class ExportSerializer(serializers.Serializer):
    format = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    metadata = serializers.JSONField()
    graph = serializers.JSONField()

"""Serializers of agents: providers, models and prices; agents with their versions and
parts; conversations, messages, feedback; usage logs, error logs and daily metrics (read).

No serializer outputs a secret: a provider names its vault secret by id only."""

from rest_framework import serializers

from core.api.serializers import BaseModelSerializer

from .. import models as m

_TIMESTAMPS = ["created_at", "updated_at"]


class LLMProviderSerializer(BaseModelSerializer):
    class Meta:
        model = m.LLMProvider
        fields = ["id", "workspace", "name", "kind", "base_url", "api_key_secret",
                  "organization", "timeout", "max_retries", "is_active", "metadata",
                  *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS
        extra_kwargs = {"api_key_secret": {
            "help_text": "The id of a secret of the workspace vault holding the API key "
                         "(never the key itself; null: no key, e.g. a local Ollama)."}}


class LLMModelSerializer(BaseModelSerializer):
    class Meta:
        model = m.LLMModel
        fields = ["id", "workspace", "provider", "name", "display_name", "kind",
                  "context_window", "max_output_tokens", "capabilities", "is_active",
                  *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class ModelPriceSerializer(BaseModelSerializer):
    class Meta:
        model = m.ModelPrice
        fields = ["id", "workspace", "model", "input_per_million", "output_per_million",
                  "cached_input_per_million", "currency", "effective_from", *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class AgentSerializer(BaseModelSerializer):
    class Meta:
        model = m.Agent
        fields = ["id", "workspace", "project", "name", "description", "kind", "status",
                  "access_mode", "live_configuration", "capabilities", "settings", "metadata",
                  "voice_provider_agent_id", "voice", "voice_language", "call_settings",
                  "performance_metrics", "tags", "created_by", *_TIMESTAMPS]
        read_only_fields = ["live_configuration", "performance_metrics", "created_by",
                            *_TIMESTAMPS]
        extra_kwargs = {"tags": {"required": False}}


class AgentConfigurationSerializer(BaseModelSerializer):
    class Meta:
        model = m.AgentConfiguration
        fields = ["id", "workspace", "agent", "number", "status", "system_prompt", "model",
                  "temperature", "max_tokens", "max_steps", "tools", "response_format", "note",
                  "published_at", "published_by", *_TIMESTAMPS]
        read_only_fields = ["number", "status", "published_at", "published_by", *_TIMESTAMPS]
        extra_kwargs = {"tools": {"required": False}}


class AgentModelSerializer(BaseModelSerializer):
    class Meta:
        model = m.AgentModel
        fields = ["id", "workspace", "configuration", "model", "position", *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class AgentKnowledgeBaseSerializer(BaseModelSerializer):
    class Meta:
        model = m.AgentKnowledgeBase
        fields = ["id", "workspace", "configuration", "knowledge_base", "top_k", *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class AgentToolSerializer(BaseModelSerializer):
    class Meta:
        model = m.AgentTool
        fields = ["id", "workspace", "agent", "name", "description", "kind", "workflow",
                  "knowledge_base", "input_schema", "timeout", "enabled", *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class AgentQuotaSerializer(BaseModelSerializer):
    class Meta:
        model = m.AgentQuota
        fields = ["id", "workspace", "agent", "period", "max_tokens", "max_cost", "currency",
                  "enabled", "period_start", "tokens_used", "cost_used", "tokens_reserved",
                  "cost_reserved", "alerted_percent", *_TIMESTAMPS]
        read_only_fields = ["period_start", "tokens_used", "cost_used", "tokens_reserved",
                            "cost_reserved", "alerted_percent", *_TIMESTAMPS]


class AgentTriggerSerializer(BaseModelSerializer):
    class Meta:
        model = m.AgentTrigger
        fields = ["id", "workspace", "agent", "kind", "name", "enabled", "config",
                  "webhook_token", "last_fired_at", *_TIMESTAMPS]
        read_only_fields = ["webhook_token", "last_fired_at", *_TIMESTAMPS]
        extra_kwargs = {"webhook_token": {
            "help_text": "A webhook trigger's address: POST /api/v1/hooks/agents/<token>/."}}


class AgentHierarchySerializer(BaseModelSerializer):
    class Meta:
        model = m.AgentHierarchy
        fields = ["id", "workspace", "supervisor", "sub_agent", "description", *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class AgentAccessSerializer(BaseModelSerializer):
    class Meta:
        model = m.AgentAccess
        fields = ["id", "workspace", "agent", "user", "role", "access", *_TIMESTAMPS]
        read_only_fields = _TIMESTAMPS


class AgentErrorLogSerializer(BaseModelSerializer):
    class Meta:
        model = m.AgentErrorLog
        fields = ["id", "workspace", "created_at", "agent", "conversation", "kind", "message",
                  "detail"]


class AgentUsageMetricSerializer(BaseModelSerializer):
    class Meta:
        model = m.AgentUsageMetric
        fields = ["id", "workspace", "agent", "day", "conversations", "messages", "calls",
                  "tokens_in", "tokens_out", "cost", "errors", "latency_p50_ms",
                  "latency_p95_ms", "positive_feedback", "negative_feedback", "computed_at"]


class ConversationSerializer(BaseModelSerializer):
    class Meta:
        model = m.Conversation
        fields = ["id", "workspace", "agent", "configuration", "user", "parent", "channel",
                  "title", "status", "external_id", "metadata", "tokens_in", "tokens_out",
                  "cost", "last_message_at", *_TIMESTAMPS]
        read_only_fields = ["configuration", "user", "parent", "channel", "tokens_in",
                            "tokens_out", "cost", "last_message_at", *_TIMESTAMPS]


class ConversationMessageSerializer(BaseModelSerializer):
    class Meta:
        model = m.Message
        fields = ["id", "workspace", "created_at", "conversation", "sequence", "role",
                  "content", "tool_calls", "tool_call_id", "tool_name", "model", "tokens_in",
                  "tokens_out", "cost", "currency", "latency_ms", "finish_reason", "error"]


class MessageFeedbackSerializer(BaseModelSerializer):
    class Meta:
        model = m.MessageFeedback
        fields = ["id", "workspace", "message", "rating", "score", "comment", "by",
                  *_TIMESTAMPS]
        read_only_fields = ["by", *_TIMESTAMPS]


class LLMUsageLogSerializer(BaseModelSerializer):
    class Meta:
        model = m.LLMUsageLog
        fields = ["id", "workspace", "created_at", "source", "status", "provider", "model",
                  "model_name", "price", "agent", "conversation", "message", "workflow",
                  "execution", "node_key", "user", "tokens_in", "tokens_out", "cached_tokens",
                  "cost", "currency", "latency_ms", "request_id", "error"]


# --- action bodies ----------------------------------------------------------------------


class ConfigurationPublishSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="",
                                 help_text="What changed, shown with the version.")


class RollbackSerializer(serializers.Serializer):
    configuration = serializers.IntegerField(
        required=False, min_value=1, max_value=2_147_483_647,
        help_text="The id of the published version to make live (default: the version "
                  "published before the live one).")
    version = serializers.IntegerField(
        required=False, min_value=1, max_value=2_147_483_647,
        help_text="Or its version number.")

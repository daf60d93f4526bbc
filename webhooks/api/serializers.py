"""Serializers of the webhooks API."""

from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import BaseModelSerializer

from .. import models as m

_ENDPOINT_READ_ONLY = ["is_enabled", "disabled_at", "disabled_reason", "secret_rotated_at",
                       "previous_secret_expires_at", "failure_count", "first_failure_at",
                       "last_success_at", "last_failure_at", "created_at", "updated_at"]


class WebhookEndpointSerializer(BaseModelSerializer):
    secret = serializers.CharField(
        write_only=True, required=False, max_length=200, style={"input_type": "password"},
        help_text="Create only, optional: your own 'whsec_...' secret; one is made otherwise. "
                  "Change it with the rotate-secret action.")

    class Meta:
        model = m.WebhookEndpoint
        fields = ["id", "workspace", "url", "description", "event_types", "ordered", "owner",
                  "secret", *_ENDPOINT_READ_ONLY]
        read_only_fields = _ENDPOINT_READ_ONLY

    def validate(self, attrs):
        secret = attrs.pop("secret", None)
        if secret is not None and self.instance is not None:
            raise serializers.ValidationError(
                {"secret": ["Set on create only; use the rotate-secret action to change it."]})
        attrs = super().validate(attrs)
        if secret is not None:
            attrs["secret"] = secret
        return attrs


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    signing_secret = serializers.CharField(
        read_only=True, help_text="The signing secret, shown only in this response.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "signing_secret"]


class RotateSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(required=False, max_length=200,
                                   help_text="Your own 'whsec_...' secret; one is made "
                                             "otherwise.")
    grace_seconds = serializers.IntegerField(
        required=False, min_value=0, max_value=30 * 24 * 3600,
        help_text="How long the previous secret keeps signing beside the new one (default "
                  "WEBHOOKS_ROTATION_GRACE_SECONDS, 24 h; 0: stops at once).")


class DisableSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class ReplaySinceSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Messages created since then.")
    failed_only = serializers.BooleanField(
        default=False, help_text="Only messages that never succeeded at this endpoint.")


class ReplayResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    deliveries = serializers.ListField(child=serializers.IntegerField(),
                                       help_text="Ids of the new deliveries.")


class WebhookMessageSerializer(BaseModelSerializer):
    class Meta:
        model = m.WebhookMessage
        fields = ["id", "workspace", "message_id", "event_type", "event_id", "payload",
                  "timestamp", "created_at"]


class WebhookDeliverySerializer(BaseModelSerializer):
    class Meta:
        model = m.WebhookDelivery
        fields = ["id", "workspace", "endpoint", "message", "replay_of", "status", "attempts",
                  "next_attempt_at", "last_attempt_at", "last_status_code", "last_error",
                  "created_at", "finished_at"]


class WebhookAttemptSerializer(BaseModelSerializer):
    class Meta:
        model = m.WebhookAttempt
        fields = ["id", "workspace", "delivery", "endpoint", "number", "succeeded", "url",
                  "request_headers", "request_body", "response_status", "response_body",
                  "error", "duration_ms", "created_at"]

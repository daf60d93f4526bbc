"""Incoming agent webhooks: POST /api/v1/hooks/agents/<webhook_token>/ starts a conversation.

No session, token or API key: the address is the credential, and a trigger with auth
``hmac`` or ``token`` also wants the body signed with (or a bearer of) its vault
secret.  Everything else is the service's (``agents.services.triggers.webhook_receive``);
this view reads the body within the trigger's size limit and answers 202 with the
conversation, which the agent answers on a worker.
"""

from __future__ import annotations

import hashlib

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from core.api.errors import ApiError
from core.api.schema import ErrorSerializer

from ..services import triggers


class AgentWebhookThrottle(SimpleRateThrottle):
    """Per webhook address, not per IP: senders deliver from a few shared addresses.

    The rate is ``DEFAULT_THROTTLE_RATES["agent_webhook"]`` (default 60/min): each
    delivery costs a model call.
    """

    scope = "agent_webhook"
    default_rate = "60/min"

    def get_rate(self):
        return self.THROTTLE_RATES.get(self.scope) or self.default_rate

    def get_cache_key(self, request, view):
        token = str(view.kwargs.get("token", ""))
        ident = hashlib.sha256(token.encode(errors="surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AgentWebhookView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AgentWebhookThrottle]

    @extend_schema(
        operation_id="agents_webhook_receive",
        tags=["agents"],
        summary="Start an agent conversation from a webhook delivery",
        description=(
            "The body is a JSON object (at most the trigger's `max_body_bytes`); the text "
            "under the trigger's `message_field` (default `message`) is sent to the agent in "
            "a new conversation, answered in the background. With auth `hmac` sign the raw "
            "body (`X-Synapscale-Signature: sha256=<hex HMAC-SHA256>`), with `token` send "
            "`Authorization: Bearer <secret>`. The same `Idempotency-Key` returns the same "
            "conversation."),
        auth=[],
        parameters=[
            OpenApiParameter("X-Synapscale-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER,
                             description="`sha256=<hex>` (hmac webhooks)."),
            OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                             description="At most 200 characters; one conversation per key."),
        ],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            202: OpenApiResponse(inline_serializer("AgentWebhookAccepted", {
                "conversation": serializers.IntegerField(),
                "agent": serializers.IntegerField(),
                "created": serializers.BooleanField(),
            }), description="Accepted: the conversation started (or, for a repeated "
                            "Idempotency-Key, the one the first delivery started)."),
            400: OpenApiResponse(ErrorSerializer, description="Not a JSON object, or no "
                                 "message in the message field."),
            401: OpenApiResponse(ErrorSerializer, description="Not signed with the "
                                 "trigger's secret."),
            404: OpenApiResponse(ErrorSerializer, description="No enabled webhook at this "
                                 "address."),
            409: OpenApiResponse(ErrorSerializer, description="The agent is not active or "
                                 "has no published version."),
            413: OpenApiResponse(ErrorSerializer, description="The body is larger than the "
                                 "trigger's max_body_bytes."),
        },
    )
    def post(self, request, token: str):
        limit = triggers.webhook_body_limit(token)
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise ApiError(400, "invalid", "The Content-Length header is not a number.",
                           errors={"Content-Length": ["A whole number of bytes."]}) from None
        if declared > limit:  # refused before reading a byte of it
            raise triggers.webhook_too_large(limit)
        conversation, created = triggers.webhook_receive(token=token, body=request.body,
                                                         headers=request.headers)
        return Response({"conversation": conversation.pk, "agent": conversation.agent_id,
                         "created": created}, status=202)


urlpatterns = [
    path("hooks/agents/<str:token>/", AgentWebhookView.as_view(), name="agent-webhook"),
]

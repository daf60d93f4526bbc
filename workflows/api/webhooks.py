"""Incoming webhooks: POST /api/v1/hooks/workflows/<webhook_token>/ starts an execution.

No session, token or API key: the caller proves it holds the trigger's secret
(``X-Synapscale-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` or
``Authorization: Bearer <secret>``).  Everything else is the service's
(``workflows.services.triggers.webhook_receive``); this view reads the body
within the trigger's size limit and answers 202.
"""

from __future__ import annotations

import hashlib

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


class WebhookThrottle(SimpleRateThrottle):
    """Per webhook address, not per IP: senders deliver from a few shared addresses.

    The rate is ``DEFAULT_THROTTLE_RATES["workflow_webhook"]`` (default 120/min).
    """

    scope = "workflow_webhook"
    default_rate = "120/min"

    def get_rate(self):
        return self.THROTTLE_RATES.get(self.scope) or self.default_rate

    def get_cache_key(self, request, view):
        token = str(view.kwargs.get("token", ""))
        ident = hashlib.sha256(token.encode(errors="surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class WebhookView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [WebhookThrottle]

    @extend_schema(
        operation_id="workflows_webhook_receive",
        tags=["workflows"],
        summary="Start a workflow execution from a webhook delivery",
        description=(
            "The body (a JSON object, at most the trigger's `max_body_bytes`) becomes the "
            "execution's input, validated against the workflow's input schema. Authenticate "
            "with the trigger's secret: `X-Synapscale-Signature: sha256=<hex HMAC-SHA256 of "
            "the raw body>` (auth `hmac`) or `Authorization: Bearer <secret>` (auth `token`). "
            "Send an `Idempotency-Key` to make retries safe: the same key returns the same "
            "execution. Only active workflows accept deliveries (409 otherwise)."),
        auth=[],
        parameters=[
            OpenApiParameter("X-Synapscale-Signature", OpenApiTypes.STR, OpenApiParameter.HEADER,
                             description="`sha256=<hex>` (hmac webhooks)."),
            OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                             description="At most 200 characters; one execution per key."),
        ],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            202: OpenApiResponse(inline_serializer("WebhookAccepted", {
                "execution": serializers.IntegerField(),
                "status": serializers.CharField(),
                "trace_id": serializers.CharField(),
            }), description="Accepted: the execution started (or, for a repeated "
                            "Idempotency-Key, the one the first delivery started)."),
            # 400, 401, 404, 409 and 429 are the shared error body (core.api.schema).
            401: OpenApiResponse(ErrorSerializer, description="Not signed with the "
                                 "trigger's secret."),
            404: OpenApiResponse(ErrorSerializer, description="No enabled webhook at this "
                                 "address (or its workflow is archived)."),
            409: OpenApiResponse(ErrorSerializer, description="The workflow is not active, "
                                 "or not published."),
            413: OpenApiResponse(ErrorSerializer, description="The body is larger than the "
                                 "trigger's max_body_bytes."),
        },
    )
    def post(self, request, token: str):
        limit = triggers.webhook_body_limit(token)
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:  # Django would fail reading the body: say what is wrong
            raise ApiError(400, "invalid", "The Content-Length header is not a number.",
                           errors={"Content-Length": ["A whole number of bytes."]}) from None
        if declared > limit:  # refused before reading a byte of it
            raise triggers.webhook_too_large(limit)
        execution = triggers.webhook_receive(token=token, body=request.body,
                                             headers=request.headers)
        return Response({"execution": execution.pk, "status": execution.status,
                         "trace_id": execution.trace_id}, status=202)

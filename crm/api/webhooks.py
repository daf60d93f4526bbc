"""Inbound provider webhooks: Bolna execution events and Twilio status callbacks.

No sign-in: the provider's signature is the authentication (403 and nothing stored when
it does not verify).  No throttle either: a campaign's calls produce bursts of events
and a refused signature costs one HMAC.  Each event is stored once and answered 202;
the worker applies it (crm.webhooks)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.parsers import JSONParser
from core.api.schema import ErrorSerializer

from .. import webhooks

WebhookAnswer = inline_serializer("CrmWebhookAnswer", {
    "received": serializers.BooleanField(),
    "event": serializers.CharField(),
    "status": serializers.CharField(),
    "duplicate": serializers.BooleanField(),
})


def _answer(outcome: webhooks.Outcome) -> Response:
    return Response(outcome.body(), status=status.HTTP_200_OK if outcome.duplicate
                    else status.HTTP_202_ACCEPTED)


class VoiceWebhookView(APIView):
    """Bolna's execution events (the execution as JSON, at each status change)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [JSONParser]  # documents the body; the view reads the raw bytes

    @extend_schema(request=OpenApiTypes.OBJECT,
                   responses={202: WebhookAnswer, 200: WebhookAnswer, 413: ErrorSerializer,
                              503: ErrorSerializer}, auth=[],
                   summary="Receive a voice platform (Bolna) event",
                   description="The raw body must be signed: `X-Bolna-Signature: sha256=<hex "
                               "HMAC-SHA256 of the body with CRM_VOICE_WEBHOOK_SECRET>`; a bad "
                               "signature is a 403 and stores nothing. A new event answers "
                               "202 and is applied on the worker; a repeated delivery answers "
                               "200 with `duplicate: true` and changes nothing.")
    def post(self, request):
        return _answer(webhooks.receive_voice(request.body, request.headers))


class TwilioStatusWebhookView(APIView):
    """Twilio's call status callbacks (form POST signed with X-Twilio-Signature)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [FormParser]

    @extend_schema(request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
                   responses={202: WebhookAnswer, 200: WebhookAnswer, 503: ErrorSerializer},
                   auth=[], summary="Receive a Twilio call status callback",
                   description="Verified with Twilio's RequestValidator over the public URL "
                               "(CRM_PUBLIC_BASE_URL + this path) and the form fields; a bad "
                               "signature is a 403 and stores nothing. Each CallSid, "
                               "CallStatus and SequenceNumber is applied once.")
    def post(self, request):
        django_request = request._request
        url = webhooks.public_url(django_request.path, django_request.META.get(
            "QUERY_STRING", ""))
        return _answer(webhooks.receive_twilio(
            url, django_request.POST, request.headers.get(webhooks.TWILIO_SIGNATURE_HEADER, ""),
            request.headers.get(webhooks.TWILIO_SETTINGS_HEADER, "")))


urlpatterns = [
    path("crm/webhooks/voice/", VoiceWebhookView.as_view(), name="crm-webhook-voice"),
    path("crm/webhooks/twilio/status/", TwilioStatusWebhookView.as_view(),
         name="crm-webhook-twilio-status"),
]

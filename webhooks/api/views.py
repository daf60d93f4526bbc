"""Webhooks API: endpoints (CRUD and their actions), messages, deliveries (and replay),
attempts.  Thin over ``webhooks.services``: the role rule (workspace admins) and every
refusal come from there, the same as in the admin."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from core import tenancy
from core.api.schema import ErrorSerializer
from core.api.viewsets import ScopedModelViewSet, ScopedReadOnlyModelViewSet

from .. import models as m
from ..services import endpoints as endpoint_services
from ..services import replay as replay_services
from . import serializers as s

_ADMINS = OpenApiResponse(ErrorSerializer, description="Only workspace admins may do this.")
_DISABLED = OpenApiResponse(ErrorSerializer, description="endpoint_disabled: enable it first.")


def _principal(request):
    return tenancy.principal_for(request)


class WebhookEndpointViewSet(ScopedModelViewSet):
    """Where the workspace's events are POSTed, signed per the Standard Webhooks spec.
    The signing secret is returned once, by create and rotate-secret."""

    queryset = m.WebhookEndpoint.objects.all()
    serializer_class = s.WebhookEndpointSerializer

    @extend_schema(responses={201: s.WebhookEndpointCreatedSerializer})
    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        response.data["signing_secret"] = self._secret
        response["Cache-Control"] = "no-store"
        return response

    def perform_scoped_create(self, serializer):
        serializer.instance, self._secret = endpoint_services.endpoint_create(
            principal=_principal(self.request), **serializer.validated_data)

    def perform_update(self, serializer):
        changes = {k: v for k, v in serializer.validated_data.items() if k != "workspace"}
        serializer.instance = endpoint_services.endpoint_update(
            endpoint=serializer.instance, principal=_principal(self.request), **changes)

    @extend_schema(request=s.RotateSecretSerializer,
                   responses={200: s.WebhookEndpointCreatedSerializer, 403: _ADMINS},
                   summary="Rotate the signing secret (the new one is shown once)")
    @action(detail=True, methods=["post"], url_path="rotate-secret",
            url_name="rotate_secret")
    def rotate_secret(self, request, pk=None):
        endpoint = self.get_object()
        body = s.RotateSecretSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint, secret = endpoint_services.endpoint_rotate_secret(
            endpoint=endpoint, principal=_principal(request), **body.validated_data)
        data = s.WebhookEndpointSerializer(endpoint, context=self.get_serializer_context()).data
        return Response({**data, "signing_secret": secret},
                        headers={"Cache-Control": "no-store"})

    @extend_schema(request=None, responses={200: s.WebhookEndpointSerializer, 403: _ADMINS},
                   summary="Enable the endpoint (waiting deliveries resume)")
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        endpoint = endpoint_services.endpoint_enable(endpoint=self.get_object(),
                                                     principal=_principal(request))
        return Response(self.get_serializer(endpoint).data)

    @extend_schema(request=s.DisableSerializer,
                   responses={200: s.WebhookEndpointSerializer, 403: _ADMINS},
                   summary="Disable the endpoint (nothing is sent until enabled)")
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        endpoint = self.get_object()
        body = s.DisableSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = endpoint_services.endpoint_disable(
            endpoint=endpoint, principal=_principal(request), **body.validated_data)
        return Response(self.get_serializer(endpoint).data)

    @extend_schema(request=None,
                   responses={202: s.WebhookDeliverySerializer, 403: _ADMINS, 409: _DISABLED},
                   summary="Send a webhooks.test message to this endpoint")
    @action(detail=True, methods=["post"], url_path="send-test",
            url_name="send_test")
    def send_test(self, request, pk=None):
        delivery = replay_services.send_test(endpoint=self.get_object(),
                                             principal=_principal(request))
        return Response(s.WebhookDeliverySerializer(delivery).data,
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=s.ReplaySinceSerializer,
                   responses={202: s.ReplayResultSerializer, 403: _ADMINS, 409: _DISABLED},
                   summary="Send again the messages since a time (same webhook ids)")
    @action(detail=True, methods=["post"], url_path="replay-since",
            url_name="replay_since")
    def replay_since(self, request, pk=None):
        endpoint = self.get_object()
        body = s.ReplaySinceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        replays = replay_services.endpoint_replay_since(
            endpoint=endpoint, principal=_principal(request), **body.validated_data)
        return Response({"count": len(replays), "deliveries": [d.pk for d in replays]},
                        status=status.HTTP_202_ACCEPTED)


class WebhookMessageViewSet(ScopedReadOnlyModelViewSet):
    """Events as sent: the body and its message id (webhook-id), the same on every retry."""

    queryset = m.WebhookMessage.objects.all()
    serializer_class = s.WebhookMessageSerializer


class WebhookDeliveryViewSet(ScopedReadOnlyModelViewSet):
    """One message to one endpoint: its status, attempts made and the next one's time."""

    queryset = m.WebhookDelivery.objects.all()
    serializer_class = s.WebhookDeliverySerializer

    @extend_schema(request=None,
                   responses={202: s.WebhookDeliverySerializer, 403: _ADMINS, 409: _DISABLED},
                   summary="Send this delivery's message again (same webhook id)")
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        replay = replay_services.delivery_replay(delivery=self.get_object(),
                                                 principal=_principal(request))
        return Response(self.get_serializer(replay).data, status=status.HTTP_202_ACCEPTED)


class WebhookAttemptViewSet(ScopedReadOnlyModelViewSet):
    """The log of every request made: headers (signature redacted), bodies (truncated),
    the answer or the error, the time it took."""

    queryset = m.WebhookAttempt.objects.all()
    serializer_class = s.WebhookAttemptSerializer

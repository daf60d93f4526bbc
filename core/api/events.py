"""The event catalogue API: the domain events the apps emit and their payload schemas.

``GET events/types/`` lists them (``core.events.catalogue()``), ``GET
events/types/<name>/`` shows one.  Workflow event triggers, outbound webhooks and
analytics all receive these events, so whoever configures one of them (or writes
the receiving end) reads here what each payload holds.  Any signed-in user or API
key may read; the list is short and fixed by the code, so it is not paginated.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import events

from .errors import ApiError
from .permissions import CatalogueReadPermission
from .schema import ErrorSerializer


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Dotted, beginning with the emitting app, e.g. "
                                           "`reports.run.succeeded`.")
    version = serializers.IntegerField(help_text="Raised when the payload changes in a way "
                                                 "that breaks consumers.")
    description = serializers.CharField(help_text="When it is emitted.")
    schema = serializers.DictField(
        child=serializers.JSONField(), allow_null=True,
        help_text="JSON Schema (draft 2020-12) of the event's `payload`.")

    class Meta:
        ref_name = "EventType"


_TAGS = ["events"]


class EventTypeListView(APIView):
    permission_classes = [CatalogueReadPermission]

    @extend_schema(
        operation_id="events_types_list", tags=_TAGS,
        summary="The domain events the platform emits, with their payload schemas",
        description="Sorted by name.  Each event is delivered after its change commits as "
                    "`{id, name, version, workspace_id, occurred_at, payload}` to workflow "
                    "event triggers, outbound webhooks and analytics alike; `schema` "
                    "describes the `payload`.",
        responses={200: EventTypeSerializer(many=True)})
    def get(self, request):
        return Response(EventTypeSerializer(events.catalogue(), many=True).data)


class EventTypeDetailView(APIView):
    permission_classes = [CatalogueReadPermission]

    @extend_schema(
        operation_id="events_types_retrieve", tags=_TAGS,
        summary="One domain event and its payload schema",
        parameters=[OpenApiParameter("name", str, OpenApiParameter.PATH,
                                     description="The event's name, e.g. "
                                                 "`billing.invoice.paid`.")],
        responses={200: EventTypeSerializer,
                   404: OpenApiResponse(ErrorSerializer, "No event of that name.")})
    def get(self, request, name: str):
        found = next((e for e in events.catalogue() if e["name"] == name), None)
        if found is None:
            raise ApiError(404, "not_found", f"No event named {name!r}; "
                                             "GET events/types/ lists them.")
        return Response(EventTypeSerializer(found).data)


urlpatterns = [
    path("events/types/", EventTypeListView.as_view(), name="event-type-list"),
    path("events/types/<str:name>/", EventTypeDetailView.as_view(), name="event-type-detail"),
]

"""API of product events: capture (single and batch) and the read-only event list.

``POST analytics/capture/`` stores one event, ``POST analytics/batch/`` up to
``ANALYTICS_CAPTURE_MAX_BATCH`` (1,000) at once, all or nothing; both answer 200 with
``{"received", "stored", "duplicates"}``.  The rules (who may send, validation,
idempotency by uuid) are ``analytics.services.capture``'s; these views read the body
with orjson (no DRF serializer per event: the serializers below document the schema)
and find the workspace: an API key's own, or the ``workspace`` named in the body for
a signed-in user (token or session).  ``analytics/events/`` lists and shows events.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import tenancy
from core.api.errors import ApiError
from core.api.parsers import fast_json_body
from core.api.permissions import TenantPermission
from core.api.routers import router
from core.api.schema import ErrorSerializer
from core.api.serializers import BaseModelSerializer
from core.api.viewsets import ScopedReadOnlyModelViewSet
from core.context import request_user
from workspaces.models import Workspace

from ..models import Event
from ..services import capture

_PG_BIGINT = 2**63 - 1


class EventSerializer(BaseModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "workspace", "uuid", "name", "distinct_id", "session_id",
                  "properties", "timestamp", "received_at", "source"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(tags=["analytics"], summary="Product events",
                       description="Events of your workspaces, newest first; filter by "
                                   "`name`, `distinct_id`, `source` and a `timestamp` range "
                                   "(`timestamp__gte`, `timestamp__lt`)."),
    retrieve=extend_schema(tags=["analytics"], summary="One product event"),
)
class EventViewSet(ScopedReadOnlyModelViewSet):
    """Captured events (append-only: written by capture, removed by retention)."""

    queryset = Event.objects.all()
    serializer_class = EventSerializer
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "head", "options"]


# --- capture ------------------------------------------------------------------------


class CaptureEventSerializer(serializers.Serializer):
    """One event (documentation only: events are checked in plain Python)."""

    event = serializers.CharField(max_length=capture.MAX_TEXT,
                                  help_text='What happened, e.g. "signup".')
    uuid = serializers.UUIDField(required=False, help_text="Your id of the event: sending "
                                 "it again stores it once. Generated when absent.")
    distinct_id = serializers.CharField(required=False, allow_blank=True,
                                        max_length=capture.MAX_TEXT,
                                        help_text="Who did it (default: the signed-in "
                                                  "user's id; empty for an API key).")
    timestamp = serializers.DateTimeField(required=False, help_text="ISO 8601 with a UTC "
                                          "offset (default: the server's time); more than a "
                                          "day ahead of the server is refused.")
    properties = serializers.DictField(required=False, help_text="Any JSON object, at most "
                                       "ANALYTICS_EVENT_MAX_PROPERTIES_BYTES (16 KB).")
    session_id = serializers.CharField(required=False, allow_blank=True,
                                       max_length=capture.MAX_TEXT)


_WORKSPACE_HELP = ("The workspace's id. Required with a user's token or session; an API "
                   "key sends to its own workspace (another id is refused).")


class CaptureSerializer(CaptureEventSerializer):
    workspace = serializers.IntegerField(required=False, min_value=1,
                                         help_text=_WORKSPACE_HELP)


class BatchSerializer(serializers.Serializer):
    workspace = serializers.IntegerField(required=False, min_value=1,
                                         help_text=_WORKSPACE_HELP)
    batch = CaptureEventSerializer(many=True, help_text="1 to "
                                   "ANALYTICS_CAPTURE_MAX_BATCH (1,000) events.")


class CaptureResultSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="Events sent.")
    stored = serializers.IntegerField(help_text="New events stored.")
    duplicates = serializers.IntegerField(help_text="Events already stored (same uuid in "
                                                    "the workspace), or repeated in the "
                                                    "batch (stored once).")


_ERRORS = {
    200: CaptureResultSerializer,
    400: OpenApiResponse(ErrorSerializer, description="Invalid events, named by field "
                         "(batch: `batch[3].timestamp`); nothing stored. Or no workspace of "
                         "yours."),
    403: OpenApiResponse(ErrorSerializer, description="Your role in the workspace cannot "
                         "add events (viewers)."),
}


class CaptureView(APIView):
    permission_classes = [TenantPermission]
    queryset = Event.objects.all()  # the resource it writes (for the generic gates)

    @extend_schema(operation_id="analytics_capture", tags=["analytics"],
                   summary="Capture one event", request=CaptureSerializer,
                   responses=_ERRORS,
                   description="Stores one product event (idempotent by `uuid`).")
    def post(self, request):
        body = fast_json_body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "invalid", "The body must be a JSON object (an event).",
                           errors={"non_field_errors": ["A JSON object is expected."]})
        event = dict(body)
        workspace = _workspace(request, event.pop("workspace", None))
        result = capture.capture_one(workspace=workspace, event=event,
                                     **_caller(request))
        return Response(result.as_dict())


class BatchView(APIView):
    permission_classes = [TenantPermission]
    queryset = Event.objects.all()  # the resource it writes (for the generic gates)

    @extend_schema(operation_id="analytics_batch", tags=["analytics"],
                   summary="Capture a batch of events", request=BatchSerializer,
                   responses=_ERRORS,
                   description="Stores up to 1,000 events at once, all or nothing: one "
                               "invalid event rejects the batch with every problem named "
                               "(`errors` keys like `batch[3].timestamp`). Idempotent by "
                               "`uuid` within the workspace: a re-sent event, or one "
                               "repeated in the batch, is stored once and counted in "
                               "`duplicates`.")
    def post(self, request):
        body = fast_json_body(request)
        if not isinstance(body, dict) or "batch" not in body:
            raise ApiError(400, "invalid", 'The body must be {"batch": [...]}.',
                           errors={"batch": ["This field is required."]})
        unknown = sorted(set(body) - {"batch", "workspace"})
        if unknown:
            raise ApiError(400, "invalid", f"Unknown field {unknown[0]!r}.",
                           errors={name: ["Unknown field."] for name in unknown})
        workspace = _workspace(request, body.get("workspace"))
        result = capture.capture_batch(workspace=workspace, events=body["batch"],
                                       field="batch", **_caller(request))
        return Response(result.as_dict())


def _caller(request) -> dict:
    principal = tenancy.principal_for(request)
    return {"user": request_user(request) if principal.api_key is None else None,
            "api_key": principal.api_key}


def _workspace(request, wanted) -> Workspace:
    """The workspace the events go to: the API key's, or the one the body names (which
    the caller must see; others' ids answer as unknown ones do)."""
    principal = tenancy.principal_for(request)
    if wanted is None and principal.api_key is not None:
        wanted = principal.api_key.workspace_id
    if wanted is None:
        raise ApiError(400, "invalid", "Name the workspace the events belong to.",
                       errors={"workspace": ["This field is required with a user's "
                                             "credentials."]})
    if type(wanted) is not int or not 0 < wanted <= _PG_BIGINT:
        raise ApiError(400, "invalid", "The workspace is a positive integer id.",
                       errors={"workspace": ["A workspace id (a positive integer) is "
                                             "expected."]})
    workspace = tenancy.visible(Workspace.objects.filter(pk=wanted), principal).first()
    if workspace is None:
        message = f"No workspace with id {wanted} of yours."
        raise ApiError(400, "invalid", message, errors={"workspace": [message]})
    return workspace


router.register("analytics/events", EventViewSet)

urlpatterns = [
    path("analytics/capture/", CaptureView.as_view(), name="analytics-capture"),
    path("analytics/batch/", BatchView.as_view(), name="analytics-batch"),
]

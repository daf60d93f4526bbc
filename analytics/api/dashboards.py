"""API of metrics, dashboards (with their data), exports and rollups.

* ``analytics/metrics`` (CRUD) and ``GET analytics/metrics/{id}/series/?from=&to=&interval=
  &breakdown=&breakdown_limit=&tz=``: the metric per bucket;
* ``analytics/dashboards`` (CRUD) and ``GET analytics/dashboards/{id}/data/?from=&to=&tz=``:
  every widget's series (default: the dashboard's ``range_days`` up to today);
* ``analytics/dashboard-widgets`` (CRUD);
* ``analytics/exports``: create (queues the job), list, retrieve, delete, and
  ``GET analytics/exports/{id}/file/`` (the written file);
* read-only rollups: ``analytics/business-metrics``, ``analytics/behavior``,
  ``analytics/insights``.

``from`` and ``to`` take a date (the whole day in ``tz``, ``to`` included) or an ISO 8601
date-time (``to`` excluded).  Bad parameters are a 400 naming the parameter.
"""

from __future__ import annotations

import copy

from django.core.exceptions import ValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from analytics import models as m
from analytics.queries.metrics import metric_series
from analytics.queries.windows import bound, zone_named
from analytics.services import dashboards, exports
from core.api.errors import ApiError
from core.api.routers import router
from core.api.serializers import BaseModelSerializer
from core.api.viewsets import (
    ScopedGenericViewSet,
    ScopedModelViewSet,
    ScopedReadOnlyModelViewSet,
)
from core.context import request_user
from core.downloads import CSV_TYPE, file_download

PARQUET_TYPE = "application/vnd.apache.parquet"

# --- serializers ----------------------------------------------------------------------


class MetricSerializer(BaseModelSerializer):
    class Meta:
        model = m.Metric
        fields = ["id", "workspace", "name", "description", "event_name", "kind", "property",
                  "percentile", "filters", "created_at", "updated_at"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        candidate = copy.copy(self.instance) if self.instance is not None else m.Metric()
        for name, value in attrs.items():
            setattr(candidate, name, value)
        dashboards.metric_validate(candidate, exclude=self._clean_exclude())
        return attrs


class DashboardSerializer(BaseModelSerializer):
    class Meta:
        model = m.Dashboard
        fields = ["id", "workspace", "name", "description", "range_days", "created_by",
                  "created_at", "updated_at"]
        read_only_fields = ["created_by"]


class DashboardWidgetSerializer(BaseModelSerializer):
    class Meta:
        model = m.DashboardWidget
        fields = ["id", "workspace", "dashboard", "metric", "title", "chart", "interval",
                  "breakdown_property", "breakdown_limit", "position", "created_at",
                  "updated_at"]


class EventExportSerializer(BaseModelSerializer):
    download_url = serializers.SerializerMethodField(
        help_text="The file, once the export succeeded; null before.")

    class Meta:
        model = m.Export
        fields = ["id", "workspace", "format", "event_name", "filters", "date_from", "date_to",
                  "status", "row_count", "error", "started_at", "finished_at", "download_url",
                  "requested_by", "created_at", "updated_at"]
        read_only_fields = ["requested_by"]

    def get_download_url(self, obj) -> str | None:
        if obj.status != m.Export.Status.SUCCEEDED or not obj.file:
            return None
        url = reverse("analytics-export-file", args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


def _read_only(model):
    class Serializer(BaseModelSerializer):
        class Meta:
            fields = "__all__"
            read_only_fields = [f.name for f in model._meta.fields]

    Serializer.Meta.model = model
    Serializer.__name__ = Serializer.__qualname__ = f"{model.__name__}Serializer"
    return Serializer


BusinessMetricSerializer = _read_only(m.BusinessMetric)
UserBehaviorMetricSerializer = _read_only(m.UserBehaviorMetric)
UserInsightSerializer = _read_only(m.UserInsight)

class PointSerializer(serializers.Serializer):
    bucket = serializers.DateTimeField(help_text="Start of the bucket, with the offset of "
                                                 "the chosen zone.")
    value = serializers.FloatField()


class SeriesSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="The metric's name, or the breakdown value.")
    points = PointSerializer(many=True)


class SeriesResultSerializer(serializers.Serializer):
    series = SeriesSerializer(many=True)
    total = serializers.FloatField(help_text="The metric over the whole range.")


class WidgetDataSerializer(SeriesResultSerializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    chart = serializers.ChoiceField(choices=m.DashboardWidget.Chart.choices)
    interval = serializers.ChoiceField(choices=m.DashboardWidget.Interval.choices)
    metric = serializers.IntegerField()
    metric_name = serializers.CharField()
    kind = serializers.ChoiceField(choices=m.Metric.Kind.choices)
    breakdown_property = serializers.CharField()
    error = serializers.CharField(allow_null=True, help_text="Why the widget has no numbers "
                                                             "(a broken metric).")


DashboardDataSerializer = inline_serializer("DashboardData", fields={
    "dashboard": serializers.IntegerField(), "name": serializers.CharField(),
    "from": serializers.DateTimeField(), "to": serializers.DateTimeField(),
    "tz": serializers.CharField(), "widgets": WidgetDataSerializer(many=True)})

# --- query parameters ------------------------------------------------------------------

RANGE_PARAMETERS = [
    OpenApiParameter("from", str, description="First day (YYYY-MM-DD, in `tz`) or instant "
                                              "(ISO 8601)."),
    OpenApiParameter("to", str, description="Last day (included) or instant (excluded)."),
    OpenApiParameter("tz", str, description="IANA time zone of the buckets and dates "
                                            "(default UTC)."),
]


def _range(params) -> tuple:
    tz = params.get("tz") or "UTC"
    zone = zone_named(tz)
    start = bound(params.get("from"), zone, field="from", end=False)
    end = bound(params.get("to"), zone, field="to", end=True)
    return start, end, tz


# --- viewsets --------------------------------------------------------------------------


class MetricViewSet(ScopedModelViewSet):
    """Metric definitions: an aggregate (count, unique, sum, average, percentile) over one
    event name with property filters; `series` computes it."""

    queryset = m.Metric.objects.all()
    serializer_class = MetricSerializer

    @extend_schema(
        summary="The metric per time bucket",
        parameters=[*RANGE_PARAMETERS,
                    OpenApiParameter("interval", str, enum=list(m.DashboardWidget.Interval),
                                     description="Bucket size (default day)."),
                    OpenApiParameter("breakdown", str, description="A property: one series "
                                                                   "per value."),
                    OpenApiParameter("breakdown_limit", int, description="How many values "
                                                                         "(1-50, default 5).")],
        responses={200: SeriesResultSerializer})
    @action(detail=True, methods=["get"])
    def series(self, request, pk=None):
        metric = self.get_object()
        params = request.query_params
        start, end, tz = _range(params)
        if start is None or end is None:
            raise ValidationError({"from" if start is None else "to":
                                   "Both 'from' and 'to' are required."})
        limit = params.get("breakdown_limit") or "5"
        if not limit.isdigit():
            raise ValidationError({"breakdown_limit": "A whole number from 1 to 50."})
        return Response(metric_series(
            metric, start=start, end=end, interval=params.get("interval") or "day",
            breakdown_property=params.get("breakdown") or "", breakdown_limit=int(limit),
            tz=tz))


class DashboardViewSet(ScopedModelViewSet):
    """Dashboards: pages of widgets over one date range; `data` computes every widget."""

    queryset = m.Dashboard.objects.all()
    serializer_class = DashboardSerializer

    def perform_scoped_create(self, serializer):
        serializer.save(created_by=request_user(self.request))

    @extend_schema(summary="Every widget's numbers", parameters=RANGE_PARAMETERS,
                   responses={200: DashboardDataSerializer})
    @action(detail=True, methods=["get"])
    def data(self, request, pk=None):
        dashboard = self.get_object()
        start, end, tz = _range(request.query_params)
        return Response(dashboards.dashboard_data(dashboard, start=start, end=end, tz=tz))


class DashboardWidgetViewSet(ScopedModelViewSet):
    queryset = m.DashboardWidget.objects.all()
    serializer_class = DashboardWidgetSerializer


class ExportViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    mixins.CreateModelMixin, mixins.DestroyModelMixin):
    """Event exports (CSV or Parquet): creating one queues it; poll it until `succeeded`,
    then fetch `file`.  Exports are not edited: make another."""

    queryset = m.Export.objects.all()
    serializer_class = EventExportSerializer

    def perform_scoped_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = exports.export_create(
            workspace=data["workspace"], by=request_user(self.request),
            format=data.get("format", m.Export.Format.CSV),
            event_name=data.get("event_name", ""), filters=data.get("filters") or [],
            date_from=data.get("date_from"), date_to=data.get("date_to"))

    def perform_destroy(self, instance):
        exports.export_delete(instance)

    def perform_content_negotiation(self, request, force=False):
        # The file is CSV or Parquet whatever Accept says, its errors JSON.
        return super().perform_content_negotiation(request, force=force or
                                                   self.action == "file")

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY,
                              (200, PARQUET_TYPE): OpenApiTypes.BINARY},
                   summary="Download the exported file",
                   description="404 with code `export_not_ready` until the export "
                               "succeeded.")
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        export = self.get_object()
        if export.status != m.Export.Status.SUCCEEDED or not export.file:
            status = export.get_status_display().lower()
            raise ApiError(404, "export_not_ready",
                           f"Export #{export.pk} has no file ({status}).")
        kind = PARQUET_TYPE if export.format == m.Export.Format.PARQUET else CSV_TYPE
        try:
            return file_download(export.file, kind)
        except OSError as exc:
            raise ApiError(404, "export_not_ready", f"The file of export #{export.pk} is "
                                                    "missing from storage.") from exc


class BusinessMetricViewSet(ScopedReadOnlyModelViewSet):
    """Daily figures per workspace (events, active_people, new_people, sessions)."""

    queryset = m.BusinessMetric.objects.all()
    serializer_class = BusinessMetricSerializer


class UserBehaviorMetricViewSet(ScopedReadOnlyModelViewSet):
    """Each person's activity per UTC day."""

    queryset = m.UserBehaviorMetric.objects.all()
    serializer_class = UserBehaviorMetricSerializer


class UserInsightViewSet(ScopedReadOnlyModelViewSet):
    """What is known of each person over all their retained events."""

    queryset = m.UserInsight.objects.all()
    serializer_class = UserInsightSerializer


router.register("analytics/metrics", MetricViewSet)
router.register("analytics/dashboards", DashboardViewSet)
router.register("analytics/dashboard-widgets", DashboardWidgetViewSet)
router.register("analytics/exports", ExportViewSet)
router.register("analytics/business-metrics", BusinessMetricViewSet)
router.register("analytics/behavior", UserBehaviorMetricViewSet)
router.register("analytics/insights", UserInsightViewSet)

urlpatterns = []

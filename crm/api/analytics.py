"""Call analytics API: the daily rollups (``CallDailyMetric``, and the user KPIs
``UserDailyKpi`` as ``crm/user-kpis``) as read-only resources,
and ``GET /api/v1/crm/analytics/calls/`` answering the rows of a period with their
totals (what the predecessor's dashboards read from trigger-maintained tables).

Rows are those the rollup wrote (nightly for yesterday, or ``manage.py crm_rollup``):
today's calls appear once the day is rolled up.  Scoped like every workspace resource.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import tenancy
from core.api.errors import ApiError
from core.api.permissions import TenantPermission
from core.api.schema import ErrorSerializer
from core.api.serializers import BaseModelSerializer
from core.api.viewsets import ScopedReadOnlyModelViewSet
from workspaces.models import Workspace

from ..models.rollups import CallDailyMetric, UserDailyKpi
from ..services import rollups

DEFAULT_DAYS = 30


class CallDailyMetricSerializer(BaseModelSerializer):
    connect_rate = serializers.DecimalField(max_digits=6, decimal_places=4, read_only=True,
                                            help_text="connected / calls (0..1).")

    class Meta:
        model = CallDailyMetric
        fields = "__all__"
        read_only_fields = [f.name for f in CallDailyMetric._meta.fields]


class CallDailyMetricViewSet(ScopedReadOnlyModelViewSet):
    """Calls per workspace, UTC day and agent (rolled up nightly from the calls)."""

    queryset = CallDailyMetric.objects.all()
    serializer_class = CallDailyMetricSerializer


class UserDailyKpiSerializer(BaseModelSerializer):
    connect_rate = serializers.DecimalField(max_digits=6, decimal_places=4, read_only=True,
                                            help_text="connected / calls (0..1).")

    class Meta:
        model = UserDailyKpi
        fields = "__all__"
        read_only_fields = [f.name for f in UserDailyKpi._meta.fields]


class UserDailyKpiViewSet(ScopedReadOnlyModelViewSet):
    """Calls, talk time, conversions and follow-ups per workspace, UTC day and CRM user
    (rolled up nightly; filter with ``?day__gte=&day__lte=&user=``)."""

    queryset = UserDailyKpi.objects.all()
    serializer_class = UserDailyKpiSerializer


class CallTotalsSerializer(serializers.Serializer):
    calls = serializers.IntegerField()
    connected = serializers.IntegerField()
    connect_rate = serializers.DecimalField(max_digits=6, decimal_places=4)
    total_duration_seconds = serializers.IntegerField()
    avg_duration_seconds = serializers.DecimalField(max_digits=10, decimal_places=2)
    cost = serializers.DecimalField(max_digits=16, decimal_places=4)
    credits = serializers.DecimalField(max_digits=18, decimal_places=4)
    conversions = serializers.IntegerField()


CallAnalyticsSerializer = inline_serializer("CallAnalytics", fields={
    "workspace": serializers.IntegerField(allow_null=True),
    "from": serializers.DateField(), "to": serializers.DateField(),
    "rows": CallDailyMetricSerializer(many=True), "totals": CallTotalsSerializer()})


class CallAnalyticsQuery(serializers.Serializer):
    workspace = serializers.IntegerField(required=False, min_value=1)
    agent = serializers.IntegerField(required=False, min_value=1)
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    def to_internal_value(self, data):
        data = {key: data.get(key) for key in ("workspace", "agent") if data.get(key)} | {
            name: data.get(key) for key, name in (("from", "start"), ("to", "end"))
            if data.get(key)}
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = {("from" if k == "start" else "to" if k == "end" else k): v
                      for k, v in exc.detail.items()}
            raise serializers.ValidationError(detail) from exc


class CallAnalyticsView(APIView):
    permission_classes = [TenantPermission]

    @extend_schema(
        operation_id="crm_analytics_calls", tags=["crm"],
        summary="Calls per day and agent with totals",
        parameters=[
            OpenApiParameter("workspace", int, description="Default: every workspace of "
                                                           "yours."),
            OpenApiParameter("from", date, description=f"First UTC day (default: "
                                                        f"{DEFAULT_DAYS} days ago)."),
            OpenApiParameter("to", date, description="Last UTC day (default: today)."),
            OpenApiParameter("agent", int, description="One agent's rows only.")],
        responses={200: CallAnalyticsSerializer,
                   400: OpenApiResponse(ErrorSerializer, description="Bad dates or ids."),
                   404: OpenApiResponse(ErrorSerializer,
                                        description="No such workspace of yours.")})
    def get(self, request):
        query = CallAnalyticsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        end = params.get("end") or timezone.now().date()
        start = params.get("start") or end - timedelta(days=DEFAULT_DAYS)
        if start > end:
            raise ApiError(400, "invalid", "'from' is after 'to'.",
                           errors={"from": ["On or before 'to'."]})
        principal = tenancy.principal_for(request)
        rows = tenancy.visible(CallDailyMetric.objects.all(), principal).filter(
            day__gte=start, day__lte=end)
        workspace = params.get("workspace")
        if workspace is not None:
            if not tenancy.visible(Workspace.objects.filter(pk=workspace), principal).exists():
                raise ApiError(404, "not_found", f"No workspace with id {workspace} of yours.",
                               errors={"workspace": ["No such workspace of yours."]})
            rows = rows.filter(workspace_id=workspace)
        if params.get("agent"):
            rows = rows.filter(agent_id=params["agent"])
        rows = list(rows.order_by("day", "workspace_id", "agent_id"))
        context = {"request": request}
        return Response({
            "workspace": workspace, "from": start.isoformat(), "to": end.isoformat(),
            "rows": CallDailyMetricSerializer(rows, many=True, context=context).data,
            "totals": CallTotalsSerializer(rollups.totals(rows), context=context).data})


urlpatterns = [path("crm/analytics/calls/", CallAnalyticsView.as_view(),
                    name="crm-analytics-calls")]

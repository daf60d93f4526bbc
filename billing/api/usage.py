"""Usage API: the usage records a caller may see (read), batch ingestion for staff
service accounts, and a workspace's usage per billing period.

The rules are billing.metering_ingest's (who may ingest, validation, idempotency,
periods); these views read the request and shape the answer.  The batch endpoint never
runs a DRF serializer per event: its serializers exist for the schema only.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
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

from .. import metering_ingest as ingestion
from ..models import UsageRecord


class UsageRecordSerializer(BaseModelSerializer):
    class Meta:
        model = UsageRecord
        fields = ["id", "workspace", "metric", "quantity", "transaction_id", "occurred_at",
                  "recorded_at", "source", "properties"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(tags=["billing"], summary="Usage records",
                       description="Usage events of your workspaces, newest first."),
    retrieve=extend_schema(tags=["billing"], summary="One usage record"),
)
class UsageRecordViewSet(ScopedReadOnlyModelViewSet):
    """Usage events as recorded (append-only): one per ``(workspace, transaction_id)``."""

    queryset = UsageRecord.objects.all()
    serializer_class = UsageRecordSerializer
    lookup_value_regex = r"\d+"  # never shadows usage/batch/ or usage/summary/
    # Read-only by declaration too: the router routes POST to any ``create`` it finds.
    http_method_names = ["get", "head", "options"]


# --- batch ingestion --------------------------------------------------------------------


class UsageEventSerializer(serializers.Serializer):
    """One event of a batch (documentation only: events are checked in plain Python)."""

    workspace = serializers.IntegerField(min_value=1)
    metric = serializers.SlugField(max_length=60, help_text="e.g. executions, tokens.")
    quantity = serializers.IntegerField(min_value=0, max_value=ingestion.MAX_QUANTITY)
    transaction_id = serializers.CharField(
        max_length=120, help_text="The sender's id of the event: sending it again (in this "
                                  "or a later batch) counts once.")
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset; decides "
                                                      "the billing period.")
    properties = serializers.DictField(required=False, help_text="Any JSON object, at most "
                                       f"{ingestion.MAX_PROPERTIES_BYTES} bytes.")


class UsageBatchSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=ingestion.MAX_SOURCE, required=False,
                                   allow_blank=True, help_text="Who reports (kept on each "
                                                               "record).")
    events = UsageEventSerializer(many=True, help_text=f"1 to {ingestion.MAX_BATCH} events.")


class UsageBatchResultSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="Events in the batch.")
    accepted = serializers.IntegerField(help_text="New usage records written.")
    duplicates = serializers.IntegerField(help_text="Events already recorded, or repeated "
                                                    "within the batch (counted once).")


class UsageBatchView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="billing_usage_batch", tags=["billing"], summary="Send usage events",
        description=(
            f"Records up to {ingestion.MAX_BATCH} usage events at once, all or nothing: one "
            "invalid event rejects the batch with every problem listed in "
            '`errors.events` as `{"index", "field", "reason"}`, and nothing is written. '
            "Idempotent by `(workspace, transaction_id)`: re-sent events count once. "
            "Staff service accounts with the `billing.add_usagerecord` permission only, "
            "into workspaces they may add usage to; API keys and members get 403."),
        request=UsageBatchSerializer,
        responses={200: UsageBatchResultSerializer,
                   400: OpenApiResponse(ErrorSerializer, description="Invalid events (none "
                                        "recorded), or an unknown workspace."),
                   403: OpenApiResponse(ErrorSerializer, description="Not a staff service "
                                        "account with the ingest permission.")})
    def post(self, request):
        principal = tenancy.principal_for(request)
        ingestion.require_ingest_permission(principal)  # before reading the body
        body = fast_json_body(request)
        if not isinstance(body, dict) or "events" not in body:
            raise ApiError(400, "invalid", 'The body must be {"events": [...]}.',
                           errors={"events": ["This field is required."]})
        result = ingestion.ingest(body["events"], source=body.get("source") or "",
                                  principal=principal)
        return Response(result.as_dict())


# --- summary per billing period ---------------------------------------------------------


class UsageSummaryQuerySerializer(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    metric = serializers.RegexField(r"^[-a-zA-Z0-9_]{1,60}$", required=False,
                                    help_text="Only this metric (default: every metric "
                                              "used, and the metered ones).")
    period = serializers.ChoiceField(choices=ingestion.PERIODS, default="current")


class MetricUsageSerializer(serializers.Serializer):
    metric = serializers.CharField()
    feature = serializers.CharField(help_text="The plan feature limiting it (empty: none).")
    used = serializers.IntegerField(help_text="Sum of the period's usage records.")
    included = serializers.IntegerField(allow_null=True, help_text="Included in the plan "
                                        "price (null: no plan value).")
    limit = serializers.IntegerField(allow_null=True, help_text="Hard cap (null: none).")
    remaining = serializers.IntegerField(allow_null=True)
    overage = serializers.IntegerField(help_text="Units above the included amount.")
    overage_price = serializers.DecimalField(max_digits=18, decimal_places=6,
                                             help_text="Minor units per unit of overage.")
    overage_amount = serializers.DecimalField(max_digits=30, decimal_places=6,
                                              help_text="Minor units, before rounding.")


class DailyUsageSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="UTC day.")
    metric = serializers.CharField()
    quantity = serializers.IntegerField()


class UsageSummarySerializer(serializers.Serializer):
    workspace = serializers.IntegerField()
    period = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(help_text="Exclusive.")
    metrics = MetricUsageSerializer(many=True)
    daily = DailyUsageSerializer(many=True)


class UsageSummaryView(APIView):
    permission_classes = [TenantPermission]

    @extend_schema(
        operation_id="billing_usage_summary", tags=["billing"],
        summary="Usage per billing period",
        description="Totals per metric in the workspace's current or previous billing "
                    "period (the subscription's period, else the UTC calendar month), with "
                    "the plan's included amount, limit and overage, and usage per UTC day. "
                    "Any member of the workspace.",
        parameters=[UsageSummaryQuerySerializer],
        responses={200: UsageSummarySerializer,
                   400: OpenApiResponse(ErrorSerializer, description="Invalid parameters, "
                                        "or a workspace not yours.")})
    def get(self, request):
        from workspaces.models import Workspace

        query = UsageSummaryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        workspace = Workspace.objects.filter(pk=data["workspace"]).first()
        if workspace is None or not tenancy.can_in_workspace(
                tenancy.principal_for(request), workspace, UsageRecord, "view"):
            message = f"No workspace with id {data['workspace']} of yours."
            raise ApiError(400, "invalid", message, errors={"workspace": [message]})
        summary = ingestion.usage_summary(workspace.pk, period=data["period"],
                                          metric=data.get("metric"))
        return Response(UsageSummarySerializer(summary.as_dict()).data)


router.register("billing/usage", UsageRecordViewSet)

urlpatterns = [
    path("billing/usage/batch/", UsageBatchView.as_view(), name="billing-usage-batch"),
    path("billing/usage/summary/", UsageSummaryView.as_view(), name="billing-usage-summary"),
]

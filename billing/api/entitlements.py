"""Entitlements API: where a workspace stands on every feature of its plan.

``GET billing/entitlements/?workspace=<id>``: each feature's limit, usage, what is left
and when it resets (``billing.entitlements.allowances``), for any member of the
workspace or an API key of it; another workspace answers 404.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import tenancy
from core.api.errors import ApiError
from core.api.permissions import TenantPermission
from core.api.schema import ErrorSerializer

from .. import entitlements
from ..features import FEATURES


class EntitlementsQuerySerializer(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class AllowanceSerializer(serializers.Serializer):
    feature = serializers.CharField(help_text="The feature key, e.g. executions_per_month.")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["limit", "switch"])
    measure = serializers.CharField(help_text="`metered` (usage in the billing period), "
                                              "`gauge` (counted now) or empty (switches).")
    unit = serializers.CharField()
    enabled = serializers.BooleanField(help_text="For switches: on or off.")
    limit = serializers.IntegerField(allow_null=True, help_text="Null: unlimited.")
    used = serializers.IntegerField()
    remaining = serializers.IntegerField(allow_null=True, help_text="Null: unlimited.")
    resets_at = serializers.DateTimeField(allow_null=True, help_text="End of the billing "
                                          "period for metered limits; null otherwise.")
    source = serializers.ChoiceField(choices=["plan", "override", "unlimited"])


class EntitlementsSerializer(serializers.Serializer):
    workspace = serializers.IntegerField()
    plan = serializers.CharField(allow_null=True, help_text="The plan's code (null: no plan, "
                                                            "nothing is limited).")
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    features = AllowanceSerializer(many=True)


class EntitlementsView(APIView):
    permission_classes = [TenantPermission]

    @extend_schema(
        operation_id="billing_entitlements", tags=["billing"],
        summary="What the workspace's plan allows, and how much is left",
        description="Every feature: its limit (plan, staff override, or unlimited without "
                    "a plan), the usage (executions and tokens in the billing period; "
                    "agents, seats, stored bytes and schedules counted now), what remains "
                    "and when it resets.  Actions past a limit answer 402 `limit_reached` "
                    "naming the same numbers.  Any member of the workspace, or its API key.",
        parameters=[OpenApiParameter("workspace", int, required=True,
                                     description="The workspace's id.")],
        responses={200: EntitlementsSerializer,
                   400: OpenApiResponse(ErrorSerializer, "No or a malformed `workspace`."),
                   404: OpenApiResponse(ErrorSerializer, "No such workspace of yours.")})
    def get(self, request):
        query = EntitlementsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        workspace_id = query.validated_data["workspace"]
        workspaces = apps.get_model(settings.TENANCY_WORKSPACE_MODEL).objects
        if not tenancy.visible(workspaces.filter(pk=workspace_id),
                               tenancy.principal_for(request)).exists():
            raise ApiError(404, "not_found", f"No workspace with id {workspace_id} of yours.")
        plan = entitlements.plan_of(workspace_id)
        vals = entitlements.values(workspace_id)
        start, end = entitlements.period_of(workspace_id)
        rows = []
        for allowance in entitlements.allowances(workspace_id):
            spec, value = FEATURES[allowance.feature], vals[allowance.feature]
            rows.append({"feature": allowance.feature, "name": spec.name, "kind": spec.kind,
                         "measure": spec.measure, "unit": spec.unit,
                         "enabled": value.enabled, "limit": allowance.limit,
                         "used": allowance.used, "remaining": allowance.remaining,
                         "resets_at": allowance.resets_at, "source": value.source})
        return Response(EntitlementsSerializer({
            "workspace": workspace_id, "plan": plan.code if plan else None,
            "period_start": start, "period_end": end, "features": rows}).data)


urlpatterns = [path("billing/entitlements/", EntitlementsView.as_view(),
                    name="billing-entitlements")]

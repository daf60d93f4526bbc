"""Cost intelligence API: sums of LLMUsageLog by day/agent/model/workflow/workspace, the
month-end forecast with its error, and the top cost drivers.  The figures are
agents.cost's; these views read the query string and shape the answer."""

from __future__ import annotations

from datetime import timedelta

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import tenancy
from core.api.errors import ApiError
from core.api.permissions import TenantPermission
from core.api.schema import ErrorSerializer
from workflows.models import Workflow
from workspaces.models import Workspace

from .. import cost
from ..models import Agent, LLMModel, LLMUsageLog

MAX_DAYS = 731
MONEY = {"max_digits": 20, "decimal_places": 8}


class CostQuerySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=cost.GROUPS, default="day",
                                       help_text="What the rows are per.")
    to = serializers.DateField(required=False, help_text="Last day, inclusive (default: "
                                                         "today).")
    agent = serializers.IntegerField(required=False, min_value=1)
    model = serializers.IntegerField(required=False, min_value=1)
    workflow = serializers.IntegerField(required=False, min_value=1)
    workspace = serializers.IntegerField(required=False, min_value=1)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False,
                                      help_text="Forecast and drivers: this currency "
                                                "(default: the one with the most cost).")

    def get_fields(self):
        fields = super().get_fields()
        # "from" is a Python keyword, so it cannot be a class attribute.
        fields["from"] = serializers.DateField(
            required=False, help_text=f"First day (default: {cost.DEFAULT_DAYS} days "
                                      "before `to`).")
        return fields

    def validate(self, attrs):
        start, end = attrs.get("from"), attrs.get("to")
        if start and end and start > end:
            raise serializers.ValidationError({"from": ["Must be on or before `to`."]})
        if start and end and (end - start) > timedelta(days=MAX_DAYS):
            raise serializers.ValidationError({"from": [f"At most {MAX_DAYS} days at once."]})
        return attrs


_TARGETS = {"agent": Agent, "model": LLMModel, "workflow": Workflow}


def read_filter(request, *, fields=("group_by", "from", "to")) -> tuple[dict, cost.CostFilter]:
    """The validated query and its CostFilter; ids the caller cannot see are a 400."""
    query = CostQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    principal = tenancy.principal_for(request)
    unknown = {}
    for name, model in _TARGETS.items():
        if name in data and not tenancy.visible(model.objects.filter(pk=data[name]),
                                                principal).exists():
            unknown[name] = [f"No {name} with id {data[name]} in your workspaces."]
    if "workspace" in data:
        workspace = Workspace.objects.filter(pk=data["workspace"]).first()
        if workspace is None or not tenancy.can_in_workspace(principal, workspace,
                                                             LLMUsageLog, "view"):
            unknown["workspace"] = [f"No workspace with id {data['workspace']} of yours."]
    if unknown:
        raise ApiError(400, "invalid", next(iter(unknown.values()))[0], errors=unknown)
    return data, cost.CostFilter(
        date_from=data.get("from"), date_to=data.get("to"), workspace_id=data.get("workspace"),
        agent_id=data.get("agent"), model_id=data.get("model"),
        workflow_id=data.get("workflow"))


class CostRowSerializer(serializers.Serializer):
    key = serializers.JSONField(help_text="The day (ISO) or the agent/model/workflow/"
                                          "workspace id (null: none, e.g. no agent).")
    label = serializers.CharField()
    currency = serializers.CharField()
    calls = serializers.IntegerField()
    tokens_in = serializers.IntegerField()
    tokens_out = serializers.IntegerField()
    cached_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(**MONEY)


class CostTotalSerializer(serializers.Serializer):
    currency = serializers.CharField()
    calls = serializers.IntegerField()
    tokens_in = serializers.IntegerField()
    tokens_out = serializers.IntegerField()
    cached_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(**MONEY)


class CostResponseSerializer(serializers.Serializer):
    group_by = serializers.CharField()
    date_from = serializers.DateField(source="from")
    date_to = serializers.DateField(source="to")
    rows = CostRowSerializer(many=True, help_text="Per key and currency, most costly first "
                                                   "(by day: in date order).")
    totals = CostTotalSerializer(many=True, help_text="Per currency: equal to the sum of "
                                                      "the usage logs selected.")


class CostForecastErrorSerializer(serializers.Serializer):
    method = serializers.CharField()
    days = serializers.IntegerField(help_text="Days held back.")
    mae = serializers.DecimalField(help_text="Mean absolute error per day.", **MONEY)
    mape = serializers.DecimalField(allow_null=True, max_digits=12, decimal_places=2,
                                    help_text="Percent, over held-back days with cost.")


class CostForecastResponseSerializer(serializers.Serializer):
    currency = serializers.CharField()
    month = serializers.DateField()
    today = serializers.DateField()
    method = serializers.CharField(help_text="seasonal_naive (weekly) or ses.")
    to_date = serializers.DecimalField(help_text="Cost so far this month.", **MONEY)
    remaining = serializers.DecimalField(help_text="Forecast until the month ends.", **MONEY)
    projected = serializers.DecimalField(help_text="Month-end total.", **MONEY)
    daily = serializers.ListField(child=serializers.DecimalField(**MONEY),
                                  help_text="Forecast for today and each day after.")
    history_from = serializers.DateField(allow_null=True)
    history_days = serializers.IntegerField()
    error = CostForecastErrorSerializer(allow_null=True)


class CostDriverSerializer(CostRowSerializer):
    share = serializers.DecimalField(max_digits=6, decimal_places=2,
                                     help_text="Percent of the total.")


class CostDriversResponseSerializer(serializers.Serializer):
    date_from = serializers.DateField(source="from")
    date_to = serializers.DateField(source="to")
    currency = serializers.CharField()
    total = serializers.DecimalField(**MONEY)
    agents = CostDriverSerializer(many=True)
    models = CostDriverSerializer(many=True)
    workflows = CostDriverSerializer(many=True)


def forecast_body(result: cost.CostForecast) -> dict:
    month = result.month_end
    error = month.error and {"method": month.error.method, "days": len(month.error.actual),
                             "mae": month.error.mae, "mape": month.error.mape}
    return {"currency": result.currency, "month": month.month, "today": month.today,
            "method": month.method, "to_date": month.to_date, "remaining": month.remaining,
            "projected": month.projected, "daily": list(month.daily),
            "history_from": result.history_from, "history_days": len(result.history),
            "error": error}


_BAD = OpenApiResponse(ErrorSerializer, description="Invalid parameters, or an agent/model/"
                                                    "workflow/workspace id not yours.")


class CostView(APIView):
    permission_classes = [TenantPermission]

    @extend_schema(operation_id="agents_cost", tags=["agents"], summary="Cost and tokens",
                   description="Sums of the usage logs you may see, per day, agent, model, "
                               "workflow or workspace and currency.",
                   parameters=[CostQuerySerializer],
                   responses={200: CostResponseSerializer, 400: _BAD})
    def get(self, request):
        data, f = read_filter(request)
        result = cost.cost_by(tenancy.principal_for(request), data["group_by"], f)
        return Response(CostResponseSerializer(result).data)


class CostForecastView(APIView):
    permission_classes = [TenantPermission]

    @extend_schema(operation_id="agents_cost_forecast", tags=["agents"],
                   summary="Month-end cost forecast",
                   description="This month's cost so far plus a forecast of each day left "
                               "(weekly seasonal naive with two weeks of history, else "
                               "exponential smoothing), with its error on the last 7 days "
                               "held back. `from`/`to`/`group_by` are ignored.",
                   parameters=[CostQuerySerializer],
                   responses={200: CostForecastResponseSerializer, 400: _BAD})
    def get(self, request):
        data, f = read_filter(request)
        result = cost.forecast(tenancy.principal_for(request), f,
                               currency=data.get("currency"))
        return Response(CostForecastResponseSerializer(forecast_body(result)).data)


class CostDriversView(APIView):
    permission_classes = [TenantPermission]

    @extend_schema(operation_id="agents_cost_drivers", tags=["agents"],
                   summary="Top cost drivers",
                   description="The five most costly agents, models and workflows in the "
                               "window, each with its share of the total (one currency).",
                   parameters=[CostQuerySerializer],
                   responses={200: CostDriversResponseSerializer, 400: _BAD})
    def get(self, request):
        data, f = read_filter(request)
        result = cost.drivers(tenancy.principal_for(request), f,
                              currency=data.get("currency"))
        return Response(CostDriversResponseSerializer(result).data)


urlpatterns = [
    path("agents/cost/", CostView.as_view(), name="agents-cost"),
    path("agents/cost/forecast/", CostForecastView.as_view(), name="agents-cost-forecast"),
    path("agents/cost/drivers/", CostDriversView.as_view(), name="agents-cost-drivers"),
]

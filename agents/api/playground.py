"""Prompt playground API: POST agents/playground/run/ (one model) and /compare/ (two side
by side on the same input).  Rendering, access and the calls are
agents.services.playground's; these views read the body and shape the answer."""

from __future__ import annotations

from dataclasses import asdict

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import tenancy
from core.api.permissions import TenantPermission
from core.api.schema import ErrorSerializer

from ..services import playground


class _PromptSerializer(serializers.Serializer):
    template = serializers.CharField(max_length=playground.MAX_TEMPLATE, trim_whitespace=False,
                                     help_text="The user prompt, a Jinja2 template "
                                               "(`{{ name }}`).")
    variables = serializers.DictField(required=False, default=dict,
                                      help_text="Values for the template's names.")
    system = serializers.CharField(required=False, allow_blank=True, default="",
                                   max_length=playground.MAX_TEMPLATE, trim_whitespace=False,
                                   help_text="System prompt (a template too).")
    temperature = serializers.FloatField(required=False, allow_null=True, min_value=0,
                                         max_value=2)
    max_tokens = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                          max_value=200_000)


class PlaygroundRunSerializer(_PromptSerializer):
    model = serializers.IntegerField(min_value=1, help_text="A chat model of yours.")


class PlaygroundCompareSerializer(_PromptSerializer):
    models = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=2,
                                   max_length=2, help_text="Two chat models of yours.")


class PlaygroundAnswerErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()


class PlaygroundAnswerSerializer(serializers.Serializer):
    model_id = serializers.IntegerField()
    model_name = serializers.CharField()
    ok = serializers.BooleanField()
    text = serializers.CharField(allow_blank=True)
    finish_reason = serializers.CharField(allow_blank=True)
    tokens_in = serializers.IntegerField()
    tokens_out = serializers.IntegerField()
    cached_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=16, decimal_places=8)
    currency = serializers.CharField(allow_blank=True)
    latency_ms = serializers.IntegerField()
    usage_log_id = serializers.IntegerField(allow_null=True)
    error = PlaygroundAnswerErrorSerializer(allow_null=True, help_text="Compare only: this side's "
                                                             "failure.")


class PlaygroundResponseSerializer(serializers.Serializer):
    prompt = serializers.CharField(help_text="The rendered prompt sent.")
    system = serializers.CharField(allow_blank=True)
    answers = PlaygroundAnswerSerializer(many=True)


def _body(result: playground.PlaygroundRun) -> dict:
    return PlaygroundResponseSerializer({
        "prompt": result.prompt, "system": result.system,
        "answers": [asdict(a) for a in result.answers]}).data


def _options(data: dict) -> dict:
    return {"template": data["template"], "variables": data["variables"],
            "system": data["system"], "temperature": data.get("temperature"),
            "max_tokens": data.get("max_tokens")}


_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid body, template_error (syntax "
                         "or an unknown variable), or a model you may not run."),
}


class PlaygroundRunView(APIView):
    permission_classes = [TenantPermission]

    @extend_schema(operation_id="agents_playground_run", tags=["agents"],
                   summary="Run a prompt against one model",
                   description="Renders the template with the variables and calls the "
                               "model once; the call is recorded as a playground usage log "
                               "and counts against the workspace's quotas.",
                   request=PlaygroundRunSerializer,
                   responses={200: PlaygroundResponseSerializer, **_ERRORS,
                              429: OpenApiResponse(ErrorSerializer,
                                                   description="quota_exhausted."),
                              502: OpenApiResponse(ErrorSerializer,
                                                   description="provider_error."),
                              504: OpenApiResponse(ErrorSerializer,
                                                   description="provider_timeout.")})
    def post(self, request):
        body = PlaygroundRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        principal = tenancy.principal_for(request)
        [model] = playground.resolve_models(principal, [body.validated_data["model"]])
        result = playground.run(principal=principal, model=model,
                                **_options(body.validated_data))
        return Response(_body(result))


class PlaygroundCompareView(APIView):
    permission_classes = [TenantPermission]

    @extend_schema(operation_id="agents_playground_compare", tags=["agents"],
                   summary="Compare two models on the same prompt",
                   description="Renders the template once and sends it to both models; "
                               "each answer has its tokens and cost, or its own error (one "
                               "side failing does not fail the other). Both calls are "
                               "recorded.",
                   request=PlaygroundCompareSerializer,
                   responses={200: PlaygroundResponseSerializer, **_ERRORS})
    def post(self, request):
        body = PlaygroundCompareSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        principal = tenancy.principal_for(request)
        models = playground.resolve_models(principal, body.validated_data["models"],
                                           field_name="models")
        result = playground.compare(principal=principal, models=models,
                                    **_options(body.validated_data))
        return Response(_body(result))


urlpatterns = [
    path("agents/playground/run/", PlaygroundRunView.as_view(), name="agents-playground-run"),
    path("agents/playground/compare/", PlaygroundCompareView.as_view(),
         name="agents-playground-compare"),
]

"""User variables over the API: your own, values of secrets write-only.

Staff holding the model's view permission see everyone's (as in the admin); writes to
someone else's variable need the change/delete permission, and a reveal is recorded in
the audit trail.  Import and export cover non-secret variables (JSON or ``.env``).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import UserVariable
from accounts.services import variables
from core.api.errors import ApiError
from core.api.serializers import BaseModelSerializer
from core.api.viewsets import OwnRowsModelViewSet


class UserVariableSerializer(BaseModelSerializer):
    value = serializers.CharField(
        required=False, allow_blank=True, max_length=variables.MAX_VALUE,
        trim_whitespace=False, style={"input_type": "password"},
        help_text="Write-only for secrets: always empty in answers (use the reveal action).")

    class Meta:
        model = UserVariable
        fields = ["id", "user", "name", "value", "description", "is_secret", "created_at",
                  "updated_at"]
        read_only_fields = ["user", "created_at", "updated_at"]


class VariableValueSerializer(serializers.Serializer):
    value = serializers.CharField()


class VariablesImportSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=variables.FORMATS, default="env")
    text = serializers.CharField(max_length=2_000_000, trim_whitespace=False,
                                 help_text="`.env` lines (NAME=value) or JSON: a list of "
                                           "{name, value, description} or {NAME: value}.")


class VariablesImportedSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()


class VariablesExportSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=variables.FORMATS)
    text = serializers.CharField()


def _as_api_error(exc: DjangoValidationError) -> ApiError:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"text": exc.messages}
    return ApiError(400, "invalid_import", "Nothing was imported: fix the lines listed.",
                    errors=errors)


class UserVariableViewSet(OwnRowsModelViewSet):
    """Your variables, read by your workflow runs as ``{{ vars.NAME }}``."""

    queryset = UserVariable.objects.all()
    serializer_class = UserVariableSerializer

    def perform_create(self, serializer):
        serializer.instance = variables.variable_create(user=self.request.user,
                                                        **serializer.validated_data)

    def perform_update(self, serializer):
        self.require_owner(serializer.instance, "change")
        serializer.instance = variables.variable_update(variable=serializer.instance,
                                                        **serializer.validated_data)

    def perform_destroy(self, instance):
        self.require_owner(instance, "delete")
        variables.variable_delete(variable=instance)

    @extend_schema(request=None, responses={200: VariableValueSerializer},
                   summary="Reveal the value (recorded in the audit trail)")
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        variable = self.get_object()
        self.require_owner(variable, "change")
        value = variables.variable_reveal(variable=variable)
        return Response({"value": value}, headers={"Cache-Control": "no-store"})

    @extend_schema(
        parameters=[OpenApiParameter("as", enum=list(variables.FORMATS), default="json",
                                     description="json or env")],
        responses={200: VariablesExportSerializer},
        summary="Export your non-secret variables as JSON or .env text")
    @action(detail=False, methods=["get"], url_path="export", filter_backends=[],
            pagination_class=None)
    def export(self, request):
        fmt = request.query_params.get("as", "json")
        if fmt not in variables.FORMATS:
            raise ApiError(400, "invalid", "Unknown export format.",
                           errors={"as": [f"Choose one of: {', '.join(variables.FORMATS)}."]})
        return Response({"format": fmt,
                         "text": variables.variables_export(user=request.user, fmt=fmt)})

    @extend_schema(request=VariablesImportSerializer,
                   responses={200: VariablesImportedSerializer},
                   summary="Import non-secret variables (all or nothing; errors per line)")
    @action(detail=False, methods=["post"], url_path="import", url_name="import",
            filter_backends=[],
            pagination_class=None)
    def import_(self, request):
        data = VariablesImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            counts = variables.variables_import(user=request.user,
                                                text=data.validated_data["text"],
                                                fmt=data.validated_data["format"])
        except DjangoValidationError as exc:
            raise _as_api_error(exc) from exc
        return Response(counts, status=status.HTTP_200_OK)

"""OpenAPI generation: every operation documents the shared error body."""

from drf_spectacular import authentication
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every API error (see ``core.api.errors``)."""

    status = serializers.IntegerField(help_text="The HTTP status code.")
    code = serializers.CharField(help_text="Stable machine-readable reason, e.g. `invalid`.")
    message = serializers.CharField(help_text="Human-readable summary.")
    errors = serializers.DictField(
        child=serializers.JSONField(),
        help_text="Field name (or `non_field_errors`) to its messages; empty if not about input.",
    )
    request_id = serializers.CharField(help_text="Also sent as the `X-Request-ID` header.")

    class Meta:
        ref_name = "Error"


_ERRORS = {
    "400": "Invalid input or query parameters.",
    "401": "Not authenticated.",
    "403": "Authenticated but not allowed.",
    "404": "Not found (or not visible to you).",
    "405": "Method not allowed on this resource.",
    "409": "Conflicts with existing data.",
    "415": "Unsupported request body media type.",
    "429": "Too many requests; see `Retry-After`.",
}
_WRITE_ONLY_ERRORS = {"409", "415"}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, description in _ERRORS.items():
            if code in _WRITE_ONLY_ERRORS and self.method in ("GET", "HEAD"):
                continue
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = description
                responses[code] = response
        return responses


class SessionScheme(authentication.SessionScheme):
    """Documents our 401-answering session authentication like DRF's own."""

    target_class = "core.api.authentication.SessionAuthentication"

"""One error body for every API failure.

    {"status": 400, "code": "invalid", "message": "Invalid input.",
     "errors": {"email": ["Enter a valid email address."]}, "request_id": "..."}

``errors`` maps field names (``non_field_errors`` for the object as a whole)
to messages; it is empty for errors that are not about input.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings

_DEFAULT_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    415: "unsupported_media_type",
    429: "throttled",
}


class ApiError(exceptions.APIException):
    """An error a service or view raises with its own code, e.g. ``account_locked``."""

    def __init__(self, status_code: int, code: str, message: str, *, errors: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message, code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.errors = errors or {}
        self.headers = headers or {}


def error_body(status_code: int, message: str, *, code: str | None = None,
               errors: dict | None = None, request=None) -> dict:
    return {
        "status": status_code,
        "code": code or _DEFAULT_CODES.get(status_code, "error"),
        "message": message,
        "errors": errors or {},
        "request_id": getattr(request, "request_id", "") if request is not None else "",
    }


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    return {api_settings.NON_FIELD_ERRORS_KEY: _flatten(detail)}


def _flatten(detail):
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def _as_api_exception(exc):
    if isinstance(exc, RequestDataTooBig):
        # Django's own cap (DATA_UPLOAD_MAX_MEMORY_SIZE), hit when DRF reads the body.
        return ApiError(413, "too_large", "The request body is larger than this API accepts.")
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return ApiError(400, "too_many_fields", str(exc) or "The request has too many fields.")
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {
            api_settings.NON_FIELD_ERRORS_KEY: exc.messages
        }
        return exceptions.ValidationError(detail)
    if isinstance(exc, ProtectedError | RestrictedError):
        err = exceptions.APIException(
            "This object is still referenced by other objects and cannot be deleted."
        )
        err.status_code = status.HTTP_409_CONFLICT
        return err
    if isinstance(exc, IntegrityError):
        # Serializer validation catches known constraints; this is the race behind them.
        err = exceptions.APIException("The change conflicts with existing data.")
        err.status_code = status.HTTP_409_CONFLICT
        return err
    if isinstance(exc, DataError):
        return exceptions.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: ["A value is outside what the database accepts."]}
        )
    return exc


def exception_handler(exc, context):
    # Imported here: authentication classes import this module while DRF's views
    # module is still loading (its settings import them), so a top-level import cycles.
    from rest_framework.views import set_rollback

    exc = _as_api_exception(exc)
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let Django log it and answer 500
    request = context.get("request")
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, ApiError):
        headers.update(exc.headers)
        body = error_body(exc.status_code, exc.message, code=exc.error_code, errors=exc.errors,
                          request=request)
    elif isinstance(exc, exceptions.ValidationError):
        body = error_body(exc.status_code, "Invalid input.", code="invalid",
                          errors=_field_errors(exc.detail), request=request)
    else:
        detail = exc.detail
        message = str(detail) if not isinstance(detail, dict | list) else str(exc.default_detail)
        code = getattr(detail, "code", None)
        if code in (None, "error", "invalid") or exc.status_code not in _DEFAULT_CODES:
            code = None
        body = error_body(exc.status_code, message, code=code, request=request)
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)

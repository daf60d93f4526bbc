"""Maintenance mode (the ``maintenance_mode`` live setting): 503 for everyone but staff.

The API answers in its error shape (``core.api.errors``) with the configured message;
other pages get a short HTML page.  The admin (its sign-in included), the health check,
the staff's two-factor enrolment and the API schema and docs stay open, and a signed-in
staff member passes everywhere, so staff are never locked out of the switch that turns
it off.  Requests
authenticated by an API token are not staff sessions: the API is closed to them.
"""

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from . import live_settings
from .api.errors import error_body

RETRY_AFTER_SECONDS = 300


def _open_prefixes() -> tuple[str, ...]:
    prefixes = []
    for name in ("admin:index", "health", "two-factor-setup", "schema", "docs", "redoc"):
        try:
            prefixes.append(reverse(name))
        except NoReverseMatch:
            continue
    return tuple(prefixes)


def _is_staff(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


class MaintenanceModeMiddleware:
    """Placed after the authentication middleware (it reads the session's user)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._open = None

    def __call__(self, request):
        if self._always_open(request) or not live_settings.get("maintenance_mode") \
                or _is_staff(request):
            return self.get_response(request)
        return maintenance_response(request)

    def _always_open(self, request) -> bool:
        # Checked before the setting is read: the health check must not need the cache or
        # the database to answer, and the API's schema and docs stay readable.
        if self._open is None:
            self._open = _open_prefixes()
        return request.path_info.startswith(self._open)


def maintenance_response(request):
    message = live_settings.get("maintenance_message")
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path_info.startswith("/api/"):
        body = error_body(503, message, code="maintenance", request=request)
        return JsonResponse(body, status=503, headers=headers)
    try:
        admin_url = reverse("admin:index")
    except NoReverseMatch:
        admin_url = "/admin/"
    response = render(request, "core/maintenance.html",
                      {"message": message, "admin_url": admin_url}, status=503)
    for name, value in headers.items():
        response[name] = value
    return response

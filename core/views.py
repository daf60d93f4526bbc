"""Error pages: API paths answer in the API's error shape, others in HTML."""

from django.http import JsonResponse
from django.views import defaults

from core.api.errors import error_body


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(404, "Not found.", request=request), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        body = error_body(500, "Internal server error; quote the request id when reporting it.",
                          code="server_error", request=request)
        return JsonResponse(body, status=500)
    return defaults.server_error(request)

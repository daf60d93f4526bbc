"""Request id, client IP and change source for everything below the middleware."""

import re
import uuid

from . import context
from .net import client_ip

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _source_for(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "other"


class RequestContextMiddleware:
    """Tags each request with an id (kept from a sane incoming header) and returns it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = context.activate(
            context.RequestContext(
                request_id=request_id,
                ip_address=client_ip(request),
                source=_source_for(request.path_info),
                request=request,
            )
        )
        try:
            response = self.get_response(request)
        finally:
            context.deactivate(token)
        response[REQUEST_ID_HEADER] = request_id
        return response

"""Who is acting, from where, under which request id: set per request.

A context variable rather than thread-locals so it stays right under ASGI.
The audit trail reads it; code outside a request sees ``None``.
"""

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    ip_address: str | None
    source: str
    request: object  # the HttpRequest; the user is resolved lazily from it

    @property
    def actor(self):
        """The signed-in user, or None (anonymous, or an API key: see ``actor_repr``)."""
        return request_user(self.request)

    @property
    def actor_repr(self) -> str:
        user = getattr(self.request, "user", None)
        return str(user) if user is not None and user.is_authenticated else ""


def request_user(request):
    """The request's signed-in user, or None for anonymous requests and API keys.

    An API key authenticates as a principal that is not a user row, so it can
    never be recorded as who created or changed something.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(user, "_meta", None) is None:
        return None
    return user


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "synapscale_request_context", default=None
)


def current() -> RequestContext | None:
    return _current.get()


def activate(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)

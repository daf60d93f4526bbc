"""What both adapters share: turning SDK exceptions into clean ProviderErrors (never with
the key in them), the connection settings of a provider, and cached SDK clients."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass

from .base import ProviderError, ToolCall
from .retry import parse_retry_after

#: Key-like strings a server may echo back ("sk-…", "sk-ant-…", masked or not).
_KEY_LIKE = re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-*.]{4,}")
_MAX_MESSAGE = 400


@dataclass(frozen=True)
class Connection:
    kind: str
    base_url: str | None
    api_key: str
    timeout: float
    organization: str
    label: str  # the provider's name, for messages

    @property
    def cache_key(self) -> tuple:
        digest = hashlib.sha256(self.api_key.encode()).hexdigest()
        return (self.kind, self.base_url, digest, self.timeout, self.organization)


def redact(text: str, key: str = "") -> str:
    if key and len(key) >= 4:
        text = text.replace(key, "[redacted]")
    text = _KEY_LIKE.sub("[redacted]", text)
    return text[:_MAX_MESSAGE]


_clients: dict[tuple, object] = {}
_lock = threading.Lock()


def cached_client(connection: Connection, make):
    """One SDK client per provider settings (clients are thread-safe and keep their
    connections alive, which is most of a local call's latency)."""
    with _lock:
        client = _clients.get(connection.cache_key)
        if client is None:
            if len(_clients) > 64:
                _clients.clear()
            client = _clients[connection.cache_key] = make()
        return client


def server_message(response) -> str:
    """The error message in an OpenAI- or Anthropic-style error body, else the text."""
    try:
        data = response.json()
    except Exception:
        return (getattr(response, "text", "") or "")[:200]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if data.get("message"):
            return str(data["message"])
    return json.dumps(data)[:200]


def status_error(connection: Connection, status: int, response) -> ProviderError:
    """A ProviderError for an HTTP error answer."""
    detail = redact(server_message(response), connection.api_key)
    where = connection.label
    retry_after = parse_retry_after(getattr(response, "headers", None))
    if status in (401, 403):
        return ProviderError(f"{where} refused the credentials ({status}): {detail}",
                             code="auth", status=status)
    if status == 429:
        return ProviderError(f"{where} is rate limiting requests (429): {detail}",
                             code="rate_limited", status=status, retryable=True,
                             retry_after=retry_after)
    if status >= 500:
        return ProviderError(f"{where} failed ({status}): {detail}", code="server_error",
                             status=status, retryable=True, retry_after=retry_after)
    if status == 408:
        return ProviderError(f"{where} timed out (408).", code="timeout", status=status,
                             retryable=True)
    return ProviderError(f"{where} rejected the request ({status}): {detail}",
                         code="bad_request", status=status)


def timeout_error(connection: Connection) -> ProviderError:
    return ProviderError(f"{connection.label} did not answer within {connection.timeout:g} s.",
                         code="timeout", retryable=True)


def connection_error(connection: Connection, exc: Exception) -> ProviderError:
    cause = exc.__cause__ or exc
    return ProviderError(
        f"{connection.label} could not be reached: "
        f"{redact(type(cause).__name__ + ': ' + str(cause), connection.api_key)}",
        code="unavailable", retryable=True)


def bad_response(connection: Connection, exc: Exception | str) -> ProviderError:
    detail = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    return ProviderError(f"{connection.label} sent an answer that cannot be read: "
                         f"{redact(str(detail), connection.api_key)}", code="bad_response")


def tool_call(call_id: str, name: str, raw) -> ToolCall:
    """A ToolCall from arguments as sent (a JSON string or an object)."""
    if isinstance(raw, dict):
        return ToolCall(id=call_id, name=name, arguments=raw)
    if raw in (None, ""):
        return ToolCall(id=call_id, name=name, arguments={})
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        return ToolCall(id=call_id, name=name, arguments={},
                        arguments_error=f"The arguments are not valid JSON ({exc.msg} at "
                                        f"character {exc.pos}).")
    if not isinstance(parsed, dict):
        return ToolCall(id=call_id, name=name, arguments={},
                        arguments_error="The arguments are not a JSON object.")
    return ToolCall(id=call_id, name=name, arguments=parsed)

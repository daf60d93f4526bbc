"""Calling LLM providers: one ``chat`` and one ``embed`` for every provider kind, with the
outbound guard on custom base URLs, our own retries, and tokens from the provider's usage
fields (estimated only when a provider reports none, and then marked ``reported=False``).

Everything else calls models through ``agents.services.calls`` (quotas and usage logs);
this package is the wire."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.outbound import OutboundError, OutboundRefused, check_url

from . import anthropic as anthropic_adapter
from . import openai_compat
from .base import ChatMessage, ChatResult, EmbeddingResult, ProviderError, ToolCall, ToolSpec, Usage
from .common import Connection, redact
from .retry import with_retries

__all__ = ["ChatMessage", "ChatResult", "EmbeddingResult", "ProviderError", "ToolCall",
           "ToolSpec", "Usage", "chat", "embed", "estimate_tokens"]

#: Servers that ignore the key still need a non-empty one (the SDKs refuse none).
NO_KEY = "unused"


def connection_for(provider) -> Connection:
    """The provider's settings, with the key decrypted from the vault and the base URL
    checked by the outbound guard (ProviderError "refused" when it is not allowed)."""
    from workspaces.services import vault

    label = f"Provider “{provider.name}”"
    if not provider.is_active:
        raise ProviderError(f"{label} is inactive.", code="unavailable")
    base_url = (provider.base_url or "").strip() or None
    if base_url:
        try:
            check_url(base_url, allowed_hosts=settings.LLM_ALLOWED_HOSTS,
                      setting="LLM_ALLOWED_HOSTS")
        except OutboundRefused as exc:
            raise ProviderError(f"{label}: {exc.message}", code="refused") from None
        except OutboundError as exc:
            raise ProviderError(f"{label}: {exc.message}", code="unavailable",
                                retryable=exc.retryable) from None
    key = NO_KEY
    if provider.api_key_secret_id:
        try:
            key = vault.decrypt(provider.api_key_secret.ciphertext) or NO_KEY
        except ImproperlyConfigured:
            raise ProviderError(f"{label}: its API key cannot be decrypted with the "
                                "configured vault keys.", code="auth") from None
    return Connection(kind=provider.kind, base_url=base_url, api_key=key,
                      timeout=float(provider.timeout), organization=provider.organization,
                      label=label)


def chat(model, messages: list[ChatMessage], *, tools: list[ToolSpec] = (),
         temperature: float | None = None, max_tokens: int | None = None,
         response_format: dict | None = None,
         on_token: Callable[[str], None] | None = None) -> ChatResult:
    """One chat completion (streamed through ``on_token`` when given).  Raises
    ProviderError; never lets the API key into a message."""
    provider = model.provider
    connection = connection_for(provider)
    adapter = anthropic_adapter if provider.kind == "anthropic" else openai_compat
    started = time.monotonic()

    def attempt():
        return adapter.chat(connection, model.name, list(messages), tools=list(tools),
                            temperature=temperature, max_tokens=max_tokens,
                            response_format=response_format, on_token=on_token)

    try:
        result = with_retries(attempt, max_retries=provider.max_retries)
    except ProviderError as error:
        error.message = redact(error.message, connection.api_key)
        error.args = (error.message,)
        raise
    if not result.usage.reported:
        result.usage = Usage(tokens_in=estimate_tokens(messages, tools),
                             tokens_out=_chars_to_tokens(
                                 len(result.content) + sum(len(json.dumps(c.arguments))
                                                           for c in result.tool_calls)),
                             reported=False)
    result.latency_ms = int((time.monotonic() - started) * 1000)
    return result


def embed(model, texts: list[str]) -> EmbeddingResult:
    """Embeddings (OpenAI-compatible providers only).  Raises ProviderError."""
    provider = model.provider
    connection = connection_for(provider)
    if provider.kind == "anthropic":
        raise ProviderError(f"{connection.label}: Anthropic has no embeddings endpoint; use "
                            "an OpenAI-compatible provider.", code="bad_request")
    started = time.monotonic()
    try:
        result = with_retries(lambda: openai_compat.embed(connection, model.name, list(texts)),
                              max_retries=provider.max_retries)
    except ProviderError as error:
        error.message = redact(error.message, connection.api_key)
        error.args = (error.message,)
        raise
    result.latency_ms = int((time.monotonic() - started) * 1000)
    return result


def _chars_to_tokens(chars: int) -> int:
    return -(-chars // 3)


def estimate_tokens(messages: list[ChatMessage], tools=()) -> int:
    """A rough upper bound (a token per three characters plus per-message overhead), for
    quota reservations only — never for what a call is billed."""
    chars = 0
    for m in messages:
        chars += len(m.content or "") + len(m.name or "")
        chars += sum(len(c.name) + len(json.dumps(c.arguments)) for c in m.tool_calls)
    for t in tools:
        chars += len(t.name) + len(t.description or "") + len(json.dumps(t.parameters))
    return _chars_to_tokens(chars) + 4 * len(messages) + 8 * len(tuple(tools)) + 3

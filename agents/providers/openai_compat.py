"""OpenAI Chat Completions (OpenAI, Azure, vLLM, Ollama, any compatible server) through the
official ``openai`` SDK."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import openai

from .base import ChatMessage, ChatResult, EmbeddingResult, ProviderError, ToolSpec, Usage
from .common import (
    Connection,
    bad_response,
    cached_client,
    connection_error,
    status_error,
    timeout_error,
    tool_call,
)

#: A response_format already in OpenAI's shape; anything else is a JSON Schema.
_FORMAT_TYPES = ("json_schema", "json_object", "text")
_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls",
           "function_call": "tool_calls", "content_filter": "content_filter"}


def _client(connection: Connection) -> openai.OpenAI:
    return cached_client(connection, lambda: openai.OpenAI(
        api_key=connection.api_key, base_url=connection.base_url or None,
        organization=connection.organization or None, timeout=connection.timeout,
        max_retries=0, http_client=httpx.Client(trust_env=False,
                                                timeout=connection.timeout)))


def wire_messages(messages: list[ChatMessage]) -> list[dict]:
    out = []
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
        elif m.role == "assistant" and m.tool_calls:
            out.append({"role": "assistant", "content": m.content or None, "tool_calls": [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                for c in m.tool_calls]})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def _request(model_name, messages, tools, temperature, max_tokens, response_format) -> dict:
    params: dict = {"model": model_name, "messages": wire_messages(messages)}
    if tools:
        params["tools"] = [{"type": "function", "function": {
            "name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in tools]
    if temperature is not None:
        params["temperature"] = float(temperature)
    if max_tokens is not None:
        params["max_tokens"] = int(max_tokens)
    if response_format is not None:
        shaped = response_format.get("type") in _FORMAT_TYPES
        params["response_format"] = response_format if shaped else {
            "type": "json_schema", "json_schema": {"name": "output", "schema": response_format}}
    return params


def _usage(raw) -> Usage | None:
    if raw is None or getattr(raw, "prompt_tokens", None) is None:
        return None
    details = getattr(raw, "prompt_tokens_details", None)
    return Usage(tokens_in=int(raw.prompt_tokens or 0),
                 tokens_out=int(getattr(raw, "completion_tokens", 0) or 0),
                 cached_tokens=int(getattr(details, "cached_tokens", 0) or 0))


def _translate(connection: Connection, exc: Exception) -> ProviderError:
    if isinstance(exc, openai.APITimeoutError):
        return timeout_error(connection)
    if isinstance(exc, openai.APIConnectionError):
        return connection_error(connection, exc)
    if isinstance(exc, openai.APIStatusError):
        return status_error(connection, exc.status_code, exc.response)
    if isinstance(exc, (openai.APIResponseValidationError, ValueError)):
        return bad_response(connection, exc)
    return ProviderError(f"{connection.label}: {type(exc).__name__}", code="bad_response")


def chat(connection: Connection, model_name: str, messages: list[ChatMessage], *,
         tools: list[ToolSpec], temperature, max_tokens, response_format,
         on_token: Callable[[str], None] | None) -> ChatResult:
    """One attempt; raises ProviderError (providers.chat retries)."""
    params = _request(model_name, messages, tools, temperature, max_tokens, response_format)
    client = _client(connection)
    try:
        if on_token is None:
            return _plain(connection, client.chat.completions.create(**params))
        return _stream(connection, client.chat.completions.create(
            **params, stream=True, stream_options={"include_usage": True}), on_token)
    except ProviderError:
        raise
    except (openai.OpenAIError, ValueError) as exc:
        raise _translate(connection, exc) from None


def _plain(connection: Connection, completion) -> ChatResult:
    try:
        choice = completion.choices[0]
        message = choice.message
        calls = [tool_call(c.id, c.function.name, c.function.arguments)
                 for c in (message.tool_calls or [])]
        content = message.content or ""
        finish = choice.finish_reason or ""
        if not isinstance(content, str):
            raise TypeError("content is not text")
    except (AttributeError, IndexError, TypeError, KeyError) as exc:
        raise bad_response(connection, exc) from None
    return ChatResult(content=content, tool_calls=calls, finish_reason=_FINISH.get(finish, finish),
                      usage=_usage(getattr(completion, "usage", None)) or Usage(reported=False),
                      model_name=str(getattr(completion, "model", "") or ""),
                      request_id=str(getattr(completion, "id", "") or ""))


def _stream(connection: Connection, stream, on_token) -> ChatResult:
    text: list[str] = []
    calls: dict[int, dict] = {}
    finish, usage, model_name, request_id = "", None, "", ""
    try:
        for chunk in stream:
            model_name = model_name or str(getattr(chunk, "model", "") or "")
            request_id = request_id or str(getattr(chunk, "id", "") or "")
            usage = _usage(getattr(chunk, "usage", None)) or usage
            for choice in chunk.choices or []:
                delta = choice.delta
                if delta is not None and delta.content:
                    text.append(delta.content)
                    on_token(delta.content)
                for part in (getattr(delta, "tool_calls", None) or []):
                    slot = calls.setdefault(part.index or 0, {"id": "", "name": "", "args": ""})
                    slot["id"] = part.id or slot["id"]
                    if part.function is not None:
                        slot["name"] = part.function.name or slot["name"]
                        slot["args"] += part.function.arguments or ""
                if choice.finish_reason:
                    finish = choice.finish_reason
    except (AttributeError, TypeError, KeyError) as exc:
        raise bad_response(connection, exc) from None
    except (openai.OpenAIError, ValueError, httpx.HTTPError) as exc:
        error = (_translate(connection, exc) if not isinstance(exc, httpx.HTTPError)
                 else (timeout_error(connection) if isinstance(exc, httpx.TimeoutException)
                       else connection_error(connection, exc)))
        if text:  # tokens already reached the caller: a retry would repeat them
            error.retryable = False
        raise error from None
    return ChatResult(
        content="".join(text),
        tool_calls=[tool_call(s["id"], s["name"], s["args"]) for _, s in sorted(calls.items())],
        finish_reason=_FINISH.get(finish, finish), usage=usage or Usage(reported=False),
        model_name=model_name, request_id=request_id)


def embed(connection: Connection, model_name: str, texts: list[str]) -> EmbeddingResult:
    try:
        answer = _client(connection).embeddings.create(model=model_name, input=texts)
    except (openai.OpenAIError, ValueError) as exc:
        raise _translate(connection, exc) from None
    try:
        rows = sorted(answer.data, key=lambda row: row.index)
        vectors = [[float(x) for x in row.embedding] for row in rows]
        if len(vectors) != len(texts):
            raise ValueError(f"{len(vectors)} vectors for {len(texts)} texts")
    except (AttributeError, TypeError, ValueError) as exc:
        raise bad_response(connection, exc) from None
    raw = getattr(answer, "usage", None)
    tokens = getattr(raw, "prompt_tokens", None)
    usage = Usage(tokens_in=int(tokens)) if tokens is not None else Usage(
        tokens_in=sum(len(t) for t in texts) // 3 + 1, reported=False)
    return EmbeddingResult(vectors=vectors, usage=usage,
                           model_name=str(getattr(answer, "model", "") or ""))

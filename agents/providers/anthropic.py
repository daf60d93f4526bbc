"""Anthropic Messages through the official ``anthropic`` SDK."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable

import anthropic

try:  # anthropic >= 2.14 runs on httpx2 and refuses httpx objects
    import httpx2 as transport
except ImportError:  # pragma: no cover - older SDKs
    import httpx as transport

from .base import ChatMessage, ChatResult, ProviderError, ToolSpec, Usage
from .common import (
    Connection,
    bad_response,
    cached_client,
    connection_error,
    status_error,
    timeout_error,
    tool_call,
)

#: Anthropic requires max_tokens; used when neither the call nor the model sets one.
DEFAULT_MAX_TOKENS = 4096
#: What this SDK's messages.create takes: recent SDKs dropped ``temperature`` (the API no
#: longer takes it for current models) and added ``output_config`` (structured outputs).
_CREATE_PARAMS = set(inspect.signature(anthropic.resources.messages.Messages.create).parameters)
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
           "tool_use": "tool_calls", "refusal": "content_filter", "pause_turn": "stop"}


def _client(connection: Connection) -> anthropic.Anthropic:
    return cached_client(connection, lambda: anthropic.Anthropic(
        api_key=connection.api_key, base_url=connection.base_url or None,
        timeout=connection.timeout, max_retries=0,
        # The SDK's own client class (its httpx flavour), without proxies from the env.
        http_client=anthropic.DefaultHttpxClient(trust_env=False, timeout=connection.timeout)))


def wire_messages(messages: list[ChatMessage]) -> tuple[str, list[dict]]:
    """(system, messages): system messages join the top-level system prompt; tool results
    become user ``tool_result`` blocks; consecutive same-role turns merge (the API wants
    user and assistant to alternate)."""
    system: list[str] = []
    out: list[dict] = []
    for m in messages:
        if m.role == "system":
            system.append(m.content)
            continue
        if m.role == "tool":
            role, blocks = "user", [{"type": "tool_result", "tool_use_id": m.tool_call_id,
                                     "content": m.content}]
        elif m.role == "assistant":
            role = "assistant"
            blocks = [{"type": "text", "text": m.content}] if m.content else []
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                       for c in m.tool_calls]
        else:
            role, blocks = "user", [{"type": "text", "text": m.content}]
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return "\n\n".join(s for s in system if s), out


def _usage(raw) -> Usage | None:
    if raw is None or getattr(raw, "input_tokens", None) is None:
        return None
    cached = int(getattr(raw, "cache_read_input_tokens", 0) or 0)
    created = int(getattr(raw, "cache_creation_input_tokens", 0) or 0)
    return Usage(tokens_in=int(raw.input_tokens or 0) + cached + created,
                 tokens_out=int(getattr(raw, "output_tokens", 0) or 0), cached_tokens=cached)


def _translate(connection: Connection, exc: Exception) -> ProviderError:
    if isinstance(exc, anthropic.APITimeoutError):
        return timeout_error(connection)
    if isinstance(exc, anthropic.APIConnectionError):
        return connection_error(connection, exc)
    if isinstance(exc, anthropic.APIStatusError):
        return status_error(connection, exc.status_code, exc.response)
    return bad_response(connection, exc)


def chat(connection: Connection, model_name: str, messages: list[ChatMessage], *,
         tools: list[ToolSpec], temperature, max_tokens, response_format,
         on_token: Callable[[str], None] | None) -> ChatResult:
    """One attempt; raises ProviderError (providers.chat retries)."""
    system, wire = wire_messages(messages)
    params: dict = {"model": model_name, "messages": wire,
                    "max_tokens": int(max_tokens or DEFAULT_MAX_TOKENS)}
    if response_format is not None:
        schema = response_format.get("schema", response_format) if response_format.get(
            "type") == "json_schema" else response_format
        if "output_config" in _CREATE_PARAMS:
            params["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
        else:
            # Older SDKs: no structured outputs; ask in words (the caller validates).
            system = (system + "\n\n" if system else "") + (
                "Answer with one JSON object only, no prose, matching this JSON Schema:\n"
                + json.dumps(schema))
    if system:
        params["system"] = system
    if tools:
        params["tools"] = [{"name": t.name, "description": t.description,
                            "input_schema": t.parameters} for t in tools]
    if temperature is not None and "temperature" in _CREATE_PARAMS:
        params["temperature"] = float(temperature)
    client = _client(connection)
    try:
        if on_token is None:
            return _plain(connection, client.messages.create(**params))
        return _stream(connection, client.messages.create(**params, stream=True), on_token)
    except ProviderError:
        raise
    except (anthropic.AnthropicError, ValueError) as exc:
        raise _translate(connection, exc) from None


def _plain(connection: Connection, message) -> ChatResult:
    try:
        text, calls = [], []
        for block in message.content:
            if block.type == "text":
                text.append(block.text)
            elif block.type == "tool_use":
                calls.append(tool_call(block.id, block.name, block.input))
        finish = message.stop_reason or ""
    except (AttributeError, TypeError, KeyError) as exc:
        raise bad_response(connection, exc) from None
    return ChatResult(content="".join(text), tool_calls=calls,
                      finish_reason=_FINISH.get(finish, finish),
                      usage=_usage(getattr(message, "usage", None)) or Usage(reported=False),
                      model_name=str(getattr(message, "model", "") or ""),
                      request_id=str(getattr(message, "id", "") or ""))


def _stream(connection: Connection, stream, on_token) -> ChatResult:
    text: list[str] = []
    blocks: dict[int, dict] = {}
    finish, usage, model_name, request_id = "", None, "", ""
    try:
        for event in stream:
            kind = event.type
            if kind == "message_start":
                model_name = str(event.message.model or "")
                request_id = str(event.message.id or "")
                usage = _usage(event.message.usage)
            elif kind == "content_block_start":
                block = event.content_block
                if block.type == "tool_use":
                    blocks[event.index] = {"id": block.id, "name": block.name, "args": ""}
            elif kind == "content_block_delta":
                delta = event.delta
                if delta.type == "text_delta":
                    text.append(delta.text)
                    on_token(delta.text)
                elif delta.type == "input_json_delta" and event.index in blocks:
                    blocks[event.index]["args"] += delta.partial_json
            elif kind == "message_delta":
                finish = event.delta.stop_reason or finish
                out = getattr(event.usage, "output_tokens", None)
                if usage is not None and out is not None:
                    usage.tokens_out = int(out)
    except (AttributeError, TypeError, KeyError) as exc:
        raise bad_response(connection, exc) from None
    except (anthropic.AnthropicError, ValueError, transport.HTTPError) as exc:
        error = (_translate(connection, exc) if not isinstance(exc, transport.HTTPError)
                 else (timeout_error(connection) if isinstance(exc, transport.TimeoutException)
                       else connection_error(connection, exc)))
        if text:
            error.retryable = False
        raise error from None
    if not request_id and not model_name:
        # The SDK skips events it cannot decode: a stream without its message_start is
        # not an answer.
        raise bad_response(connection, "the event stream carried no message")
    if usage is not None and usage.tokens_in == 0 and usage.tokens_out == 0:
        usage = None
    return ChatResult(
        content="".join(text),
        tool_calls=[tool_call(b["id"], b["name"], b["args"] or "{}")
                    for _, b in sorted(blocks.items())],
        finish_reason=_FINISH.get(finish, finish), usage=usage or Usage(reported=False),
        model_name=model_name, request_id=request_id)

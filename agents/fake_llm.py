"""A FAKE LLM server, for offline demos and tests only: it is not a model and knows nothing.

It speaks enough of two wire formats for the official SDKs to talk to it:

* OpenAI: ``POST /v1/chat/completions`` (plain, and streaming as server-sent events with a
  final usage chunk when ``stream_options.include_usage`` is set; tool calls),
  ``POST /v1/embeddings``, ``GET /v1/models``;
* Anthropic: ``POST /v1/messages`` (plain, and streaming events; ``tool_use`` blocks).

Answers are deterministic.  The reply echoes the last user message ("Fake LLM reply: …");
when tools are offered and the last user message says ``use tool NAME`` (optionally followed
by a JSON object of arguments) it calls that tool; after a tool result it reports it; with a
JSON Schema response format it answers a JSON object built from the schema.  Usage is
reported from text lengths (about four characters a token).  Every answer's ``model`` field
says it comes from this fake.

Tests script exact answers, consumed one per request, in order::

    server.script([
        {"status": 429, "headers": {"Retry-After": "1"}},
        {"delay": 3},                                   # then the normal answer
        {"raw": "{not json"},                           # a malformed body (status 200)
        {"text": "hello", "usage": {"input": 10, "output": 2, "cached": 4}},
        {"tool_calls": [{"name": "lookup", "arguments": "{bad"}]},  # str: sent as is
        {"text": "no usage", "no_usage": True},
    ])

``server.requests`` records what was received (method, path, headers in lower case, JSON
body).  ``server.api_key``: when set, requests with another key get a 401 whose message
echoes the key sent (as some real providers do), so tests prove our errors redact it.

Run it alone for ``make run`` (LLM_FAKE=1)::

    python -m agents.fake_llm --port 8765
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAKE_LABEL = "fake-llm offline demo"
_TOOL_TRIGGER = re.compile(r"use tool\s+([A-Za-z0-9_\-]+)\s*(\{.*\})?", re.IGNORECASE | re.DOTALL)


def fake_model_name(requested: str) -> str:
    return f"{requested or 'model'} [{FAKE_LABEL}]"


def tokens_of(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


# --- what to answer (wire-format independent) ---------------------------------------------


def _text_of(content) -> str:
    """Text of an OpenAI or Anthropic content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            parts.append(_text_of(block.get("content")))
    return "\n".join(parts)


def _from_schema(schema: dict, depth: int = 0):
    """A value that satisfies a simple JSON Schema (required properties, types, enums)."""
    if not isinstance(schema, dict) or depth > 6:
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {name: _from_schema(sub, depth + 1) for name, sub in props.items()}
    return {"string": "fake", "integer": 1, "number": 1.0, "boolean": True,
            "array": [], "null": None}.get(kind, "fake")


def plan_answer(*, last_user: str, last_is_tool: bool, tool_text: str, tool_names: list[str],
                schema: dict | None) -> dict:
    """The default answer: {"text": ..., "tool_calls": [...]}."""
    if tool_names and not last_is_tool:
        match = _TOOL_TRIGGER.search(last_user)
        if match and match.group(1) in tool_names:
            raw = match.group(2)
            try:
                arguments = json.loads(raw) if raw else {}
            except ValueError:
                arguments = raw
            return {"text": "", "tool_calls": [{"name": match.group(1), "arguments": arguments}]}
    if schema is not None:
        return {"text": json.dumps(_from_schema(schema))}
    if last_is_tool:
        return {"text": f"Fake LLM: the tool returned: {tool_text[:200]}"}
    return {"text": f"Fake LLM reply: {last_user[:200]}"}


class _Answer:
    """The resolved answer to one request."""

    def __init__(self, plan: dict, prompt_text: str, requested_model: str):
        self.text = plan.get("text", "")
        self.tool_calls = []
        for n, call in enumerate(plan.get("tool_calls") or []):
            arguments = call.get("arguments", {})
            self.tool_calls.append({
                "id": call.get("id") or f"call_fake_{n + 1}",
                "name": call["name"],
                "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
            })
        usage = plan.get("usage") or {}
        out_text = self.text + "".join(c["arguments"] for c in self.tool_calls)
        self.input = usage.get("input", tokens_of(prompt_text) + 3)
        self.output = usage.get("output", tokens_of(out_text))
        self.cached = usage.get("cached", 0)
        self.no_usage = bool(plan.get("no_usage"))
        self.finish = plan.get("finish") or ("tool_calls" if self.tool_calls else "stop")
        self.model = plan.get("model") or fake_model_name(requested_model)


def _chunks(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text) or ([text] if text else [])


# --- the HTTP side -------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: FakeLLMServer
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes on a kept-alive connection; with Nagle on,
    # the body waits for the client's delayed ACK (~40 ms a call), which is not a model's
    # latency but ours.  StreamRequestHandler sets TCP_NODELAY on the socket for this.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    # plumbing

    def _send(self, status: int, body: bytes, content_type="application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data, headers=None):
        self._send(status, json.dumps(data).encode(), headers=headers)

    def _start_stream(self, headers=None):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        self.close_connection = True

    def _event(self, data, event: str | None = None):
        head = f"event: {event}\n" if event else ""
        payload = data if isinstance(data, str) else json.dumps(data)
        self.wfile.write(f"{head}data: {payload}\n\n".encode())
        self.wfile.flush()

    def _handle(self):
        path = urlsplit(self.path).path.rstrip("/")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.requests.append({"method": self.command, "path": path,
                                     "headers": headers, "json": body})
        if body is None:
            return self._json(400, {"error": {"message": "Body is not JSON.",
                                              "type": "invalid_request_error"}})
        anthropic = path.endswith("/messages")
        # Anthropic SDKs send x-api-key (older) or a bearer token (recent).
        key = ((anthropic and headers.get("x-api-key"))
               or headers.get("authorization", "").removeprefix("Bearer ").strip())
        if self.server.api_key is not None and key != self.server.api_key:
            message = f"Incorrect API key provided: {key}."
            if anthropic:
                return self._json(401, {"type": "error", "error": {
                    "type": "authentication_error", "message": message}})
            return self._json(401, {"error": {"message": message, "type": "invalid_request_error",
                                              "code": "invalid_api_key"}})
        scripted = self.server.next_scripted()
        if scripted.get("delay"):
            self.server.stopping.wait(float(scripted["delay"]))
        if "raw" in scripted:
            return self._send(scripted.get("status", 200), scripted["raw"].encode(),
                              scripted.get("content_type", "application/json"),
                              scripted.get("headers"))
        if scripted.get("status", 200) >= 400:
            status = scripted["status"]
            message = f"Fake error {status}"
            error = scripted.get("body") or (
                {"type": "error", "error": {"type": "api_error", "message": message}}
                if anthropic else {"error": {"message": message, "type": "server_error"}})
            return self._json(status, error, scripted.get("headers"))
        if "body" in scripted:
            return self._json(200, scripted["body"], scripted.get("headers"))
        if self.command == "GET" and path.endswith("/models"):
            return self._json(200, {"object": "list", "data": [
                {"id": fake_model_name("fake"), "object": "model", "owned_by": FAKE_LABEL}]})
        if self.command != "POST":
            return self._json(404, {"error": {"message": "Not found.", "type": "not_found"}})
        if path.endswith("/chat/completions"):
            return self._openai_chat(body, scripted)
        if path.endswith("/embeddings"):
            return self._openai_embeddings(body, scripted)
        if anthropic:
            return self._anthropic_messages(body, scripted)
        return self._json(404, {"error": {"message": "Not found.", "type": "not_found"}})

    do_GET = do_POST = _handle

    # OpenAI Chat Completions

    def _openai_chat(self, body: dict, scripted: dict):
        messages = body.get("messages") or []
        users = [m for m in messages if m.get("role") == "user"]
        last = messages[-1] if messages else {}
        fmt = body.get("response_format") or {}
        schema = ((fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema"
                  else ({} if fmt.get("type") == "json_object" else None))
        tool_names = [t.get("function", {}).get("name") for t in body.get("tools") or []]
        plan = scripted if ("text" in scripted or "tool_calls" in scripted) else {
            **plan_answer(last_user=_text_of(users[-1].get("content")) if users else "",
                          last_is_tool=last.get("role") == "tool",
                          tool_text=_text_of(last.get("content")), tool_names=tool_names,
                          schema=schema),
            **{k: v for k, v in scripted.items() if k in ("usage", "no_usage", "finish")}}
        prompt = " ".join(_text_of(m.get("content")) for m in messages)
        answer = _Answer(plan, prompt, body.get("model", ""))
        rid = f"chatcmpl-fake-{len(self.server.requests)}"
        usage = None if answer.no_usage else {
            "prompt_tokens": answer.input, "completion_tokens": answer.output,
            "total_tokens": answer.input + answer.output,
            "prompt_tokens_details": {"cached_tokens": answer.cached}}
        calls = [{"id": c["id"], "type": "function",
                  "function": {"name": c["name"], "arguments": c["arguments"]}}
                 for c in answer.tool_calls]
        if not body.get("stream"):
            message = {"role": "assistant", "content": answer.text or None}
            if calls:
                message["tool_calls"] = calls
            data = {"id": rid, "object": "chat.completion", "created": int(time.time()),
                    "model": answer.model, "choices": [
                        {"index": 0, "message": message, "finish_reason": answer.finish}]}
            if usage:
                data["usage"] = usage
            return self._json(200, data, scripted.get("headers"))
        self._start_stream(scripted.get("headers"))
        base = {"id": rid, "object": "chat.completion.chunk", "created": int(time.time()),
                "model": answer.model}

        def chunk(delta, finish=None):
            self._event({**base, "choices": [{"index": 0, "delta": delta,
                                              "finish_reason": finish}]})

        chunk({"role": "assistant", "content": ""})
        for piece in _chunks(answer.text):
            chunk({"content": piece})
        for n, call in enumerate(calls):
            chunk({"tool_calls": [{"index": n, "id": call["id"], "type": "function",
                                   "function": {"name": call["function"]["name"],
                                                "arguments": ""}}]})
            args = call["function"]["arguments"]
            for start in range(0, len(args), 8):
                piece = args[start:start + 8]
                chunk({"tool_calls": [{"index": n, "function": {"arguments": piece}}]})
        chunk({}, answer.finish)
        if usage and (body.get("stream_options") or {}).get("include_usage"):
            self._event({**base, "choices": [], "usage": usage})
        self._event("[DONE]")

    def _openai_embeddings(self, body: dict, scripted: dict):
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        size = int(body.get("dimensions") or 16)
        data = []
        for n, text in enumerate(texts):
            digest = hashlib.sha256(str(text).encode()).digest()
            vector = [(digest[i % len(digest)] - 127.5) / 127.5 for i in range(size)]
            data.append({"object": "embedding", "index": n, "embedding": vector})
        tokens = (scripted.get("usage") or {}).get("input", sum(tokens_of(str(t)) for t in texts))
        answer = {"object": "list", "data": data, "model": fake_model_name(body.get("model", ""))}
        if not scripted.get("no_usage"):
            answer["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
        self._json(200, answer, scripted.get("headers"))

    # Anthropic Messages

    def _anthropic_messages(self, body: dict, scripted: dict):
        messages = body.get("messages") or []
        last = messages[-1] if messages else {}
        content = last.get("content")
        last_is_tool = isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
        users = [m for m in messages if m.get("role") == "user"
                 and not (isinstance(m.get("content"), list) and any(
                     isinstance(b, dict) and b.get("type") == "tool_result" for b in m["content"]))]
        tool_names = [t.get("name") for t in body.get("tools") or []]
        fmt = (body.get("output_config") or {}).get("format") or {}
        plan = scripted if ("text" in scripted or "tool_calls" in scripted) else {
            **plan_answer(last_user=_text_of(users[-1].get("content")) if users else "",
                          last_is_tool=last_is_tool, tool_text=_text_of(content),
                          tool_names=tool_names, schema=fmt.get("schema")),
            **{k: v for k, v in scripted.items() if k in ("usage", "no_usage", "finish")}}
        system = body.get("system")
        prompt = " ".join([_text_of(system) if system else "",
                           *(_text_of(m.get("content")) for m in messages)])
        answer = _Answer(plan, prompt, body.get("model", ""))
        stop = {"tool_calls": "tool_use", "stop": "end_turn", "length": "max_tokens"}.get(
            answer.finish, answer.finish)
        cached = answer.cached
        usage = {"input_tokens": answer.input - cached, "output_tokens": answer.output,
                 "cache_read_input_tokens": cached, "cache_creation_input_tokens": 0}
        rid = f"msg_fake_{len(self.server.requests)}"
        blocks = ([{"type": "text", "text": answer.text}] if answer.text else [])
        for call in answer.tool_calls:
            try:
                parsed = json.loads(call["arguments"])
            except ValueError:
                parsed = call["arguments"]
            blocks.append({"type": "tool_use", "id": call["id"].replace("call_", "toolu_"),
                           "name": call["name"], "input": parsed})
        if not body.get("stream"):
            data = {"id": rid, "type": "message", "role": "assistant", "model": answer.model,
                    "content": blocks, "stop_reason": stop, "stop_sequence": None}
            if not answer.no_usage:
                data["usage"] = usage
            return self._json(200, data, scripted.get("headers"))
        self._start_stream(scripted.get("headers"))
        start_usage = {**usage, "output_tokens": 1}
        self._event({"type": "message_start", "message": {
            "id": rid, "type": "message", "role": "assistant", "model": answer.model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": start_usage if not answer.no_usage else {"input_tokens": 0,
                                                              "output_tokens": 0}}},
            "message_start")
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                self._event({"type": "content_block_start", "index": index,
                             "content_block": {"type": "text", "text": ""}}, "content_block_start")
                for piece in _chunks(block["text"]):
                    self._event({"type": "content_block_delta", "index": index,
                                 "delta": {"type": "text_delta", "text": piece}},
                                "content_block_delta")
            else:
                self._event({"type": "content_block_start", "index": index, "content_block": {
                    "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}},
                    "content_block_start")
                args = answer.tool_calls[index - (1 if answer.text else 0)]["arguments"]
                for start in range(0, len(args), 8):
                    self._event({"type": "content_block_delta", "index": index, "delta": {
                        "type": "input_json_delta", "partial_json": args[start:start + 8]}},
                        "content_block_delta")
            self._event({"type": "content_block_stop", "index": index}, "content_block_stop")
        self._event({"type": "message_delta", "delta": {"stop_reason": stop,
                                                        "stop_sequence": None},
                     "usage": {"output_tokens": 0 if answer.no_usage else answer.output}},
                    "message_delta")
        self._event({"type": "message_stop"}, "message_stop")


class FakeLLMServer(ThreadingHTTPServer):
    """The fake server; ``start()`` serves it from a daemon thread (``with`` does too)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = None):
        super().__init__((host, port), _Handler)
        self.requests: list[dict] = []
        self.api_key = api_key
        self.stopping = threading.Event()
        self._script: list[dict] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, responses: list[dict]) -> None:
        """Queue exact answers, one per coming request (then back to the defaults)."""
        with self._lock:
            self._script.extend(responses)

    def next_scripted(self) -> dict:
        with self._lock:
            return self._script.pop(0) if self._script else {}

    def handle_error(self, request, client_address) -> None:
        # A client that gave up (a test of timeouts) closes the socket under a delayed
        # answer: not worth a traceback.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
        self.requests.clear()
        self.api_key = None

    def start(self) -> FakeLLMServer:
        self._thread = threading.Thread(target=self.serve_forever, name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description="A FAKE OpenAI/Anthropic-compatible LLM server for offline demos and tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = FakeLLMServer(args.host, args.port)
    print(f"Fake LLM server (offline demo, not a real model) on http://{args.host}:{server.port}/v1",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

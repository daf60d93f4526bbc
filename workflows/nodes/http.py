"""The HTTP request node: one call to a URL of the author's choosing, through core.outbound.

Internal addresses (loopback, private, link-local/metadata, ...) are refused after DNS
resolution unless the host is in ``WORKFLOW_HTTP_ALLOWED_HOSTS``; the response body is
capped at ``WORKFLOW_HTTP_MAX_RESPONSE_BYTES``; the call never outlasts the attempt.  The
node runs at least once per attempt, so it sends ``Idempotency-Key`` (stable per
execution, node and attempt) for servers that deduplicate.

Failures: a refused URL, a 4xx other than 408/425/429 and a body over the cap fail for
good (retrying cannot help); 5xx, 408/425/429, timeouts and connection errors are retried
by the workflow's retry policy.  Secret values never appear in the output or the error.
"""

from __future__ import annotations

import httpx
from django.conf import settings

from core import outbound

from . import registry
from .base import NodeContext, NodeError, NodeResult, NodeType
from .common import checked_config, seconds_left

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
RETRYABLE_STATUSES = {408, 425, 429}
MAX_REDIRECTS = 5
#: How much of an unexpected response's body the error quotes.
ERROR_BODY_CHARS = 300

_SCALAR = {"type": ["string", "number", "boolean"]}


@registry.register
class HttpRequestNode(NodeType):
    key = "http_request"
    name = "HTTP request"
    category = "integrations"
    description = ("Call a URL (GET, POST, ...) with headers, query and a JSON or text body; "
                   "outputs the status, headers and the JSON (or text) answered.")
    side_effects = True
    default_timeout = 120
    config_schema = {
        "type": "object",
        "properties": {
            "method": {"enum": list(METHODS), "default": "GET"},
            "url": {"type": "string", "minLength": 1, "maxLength": 8192,
                    "description": "http:// or https:// URL."},
            "headers": {"type": "object", "additionalProperties": _SCALAR},
            "query": {"type": "object", "additionalProperties": {
                "anyOf": [_SCALAR, {"type": "array", "items": _SCALAR}]}},
            "json": {"description": "A JSON body (any JSON value)."},
            "body": {"type": "string", "description": "A text body (instead of json)."},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600,
                        "description": "Seconds (default WORKFLOW_HTTP_TIMEOUT)."},
            "expected_status": {"type": "array", "minItems": 1, "uniqueItems": True,
                                "items": {"type": "integer", "minimum": 100, "maximum": 599},
                                "description": "Statuses that succeed (default: any 2xx)."},
            "follow_redirects": {"type": "boolean", "default": False},
            "response_format": {"enum": ["auto", "json", "text"], "default": "auto",
                                "description": "auto: JSON when the server says so."},
        },
        "required": ["url"],
        "additionalProperties": False,
        "not": {"required": ["json", "body"]},
    }

    def run(self, context: NodeContext) -> NodeResult:
        from ..expressions import redact  # late: expressions imports this package

        secrets = context.secret_values
        try:
            config = checked_config(self, context.config)
            return NodeResult(output=redact(self._call(config, context), secrets))
        except NodeError as exc:
            # ``from None``: the chained httpx error may carry the URL and its secrets.
            raise NodeError(redact(str(exc), secrets), retryable=exc.retryable) from None

    def _call(self, config: dict, context: NodeContext) -> dict:
        method = config.get("method", "GET")
        try:
            url = httpx.URL(config["url"])
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise NodeError(f"url: {config['url']!r} is not a valid URL ({exc}).",
                            retryable=False) from None
        if config.get("query"):
            url = url.copy_merge_params(config["query"])
        headers = {name: _header_value(value)
                   for name, value in (config.get("headers") or {}).items()}
        if context.idempotency_key and "idempotency-key" not in {h.lower() for h in headers}:
            headers["Idempotency-Key"] = context.idempotency_key
        body = {}
        if "json" in config:
            body["json"] = config["json"]
        elif "body" in config:
            body["content"] = config["body"].encode()
        timeout = seconds_left(context, config.get("timeout") or settings.WORKFLOW_HTTP_TIMEOUT)
        try:
            response = outbound.request(
                method, str(url), headers=headers, **body,
                allowed_hosts=settings.WORKFLOW_HTTP_ALLOWED_HOSTS, timeout=timeout,
                max_bytes=settings.WORKFLOW_HTTP_MAX_RESPONSE_BYTES,
                max_redirects=MAX_REDIRECTS if config.get("follow_redirects") else 0,
                setting="WORKFLOW_HTTP_ALLOWED_HOSTS")
        except outbound.OutboundError as exc:
            raise NodeError(exc.message, retryable=exc.retryable) from None
        self._check_status(config, method, url, response)
        return _output(response, config.get("response_format", "auto"))

    @staticmethod
    def _check_status(config, method, url, response) -> None:
        status = response.status_code
        expected = config.get("expected_status")
        if (status in expected) if expected else 200 <= status < 300:
            return
        wanted = ", ".join(map(str, expected)) if expected else "2xx"
        snippet = " ".join(response.text[:ERROR_BODY_CHARS].split())
        shown = url.copy_with(query=None, fragment=None, username=None, password=None)
        raise NodeError(
            f"{method} {shown} answered {status} {response.reason_phrase} (expected "
            f"{wanted})" + (f": {snippet}" if snippet else "."),
            retryable=status in RETRYABLE_STATUSES or status >= 500)


def _header_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _output(response: outbound.OutboundResponse, response_format: str) -> dict:
    output = {"status": response.status_code, "headers": dict(response.headers.items())}
    content_type = response.headers.get("content-type", "").lower()
    wants_json = response_format == "json" or (
        response_format == "auto" and ("json" in content_type.split(";")[0]))
    if wants_json and response.content.strip():
        try:
            output["json"] = response.json()
            return output
        except (ValueError, UnicodeDecodeError) as exc:
            if response_format == "json":
                raise NodeError(f"The response is not JSON ({exc}).", retryable=False) from None
    elif wants_json:
        output["json"] = None
        return output
    output["text"] = response.text
    return output

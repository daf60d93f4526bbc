"""JSON bodies, bounded before they are parsed.

The stdlib decoder recurses once per ``[`` or ``{``: 100,000 of them raise
``RecursionError`` (a 500) on any endpoint, signed in or not. So the body's size
and nesting are checked first, on the raw bytes and without recursion, and
decoded text may not hold lone surrogates (``"\\ud800"``), which no database,
encoder or cache key can carry further.
"""

import io
import json
import re

import orjson
from django.conf import settings
from django.http.request import RawPostDataException
from rest_framework import parsers

from core.api.errors import ApiError

#: Deeper than any body this API documents, far shallower than the interpreter's stack.
MAX_JSON_DEPTH = 64

# A JSON string (escapes included) or one bracket. Strings are matched whole so
# brackets inside them are not counted; the unrolled form never backtracks.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPENERS = frozenset(b"[{")
_SURROGATE = re.compile("[\ud800-\udfff]")


def max_size() -> int | None:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def read_bounded(stream, limit: int | None) -> bytes:
    body = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(body) > limit:
        raise ApiError(413, "too_large",
                       f"The request body is larger than {limit} bytes.")
    return body


def nesting_depth(body: bytes, stop_after: int) -> int:
    """The deepest bracket nesting of ``body``, counting up to ``stop_after + 1``.

    A loop, not recursion; brackets inside strings do not count.
    """
    depth = deepest = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if len(token) != 1:
            continue  # a string
        if token[0] in _OPENERS:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_after:
                    break
        else:
            depth -= 1
    return deepest


def has_lone_surrogate(data) -> bool:
    """Whether any key or string in decoded JSON holds an unpaired surrogate.

    Iterative; the depth is already bounded, this only avoids a second recursion limit.
    """
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def check_depth(body: bytes) -> None:
    # Few openers cannot nest deeply: most bodies skip the scan.
    openers = body.count(b"[") + body.count(b"{")
    if openers > MAX_JSON_DEPTH and nesting_depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ApiError(400, "too_deep",
                       f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.")


def check_text(data) -> None:
    if has_lone_surrogate(data):
        raise ApiError(400, "invalid_text",
                       "The JSON body holds a lone surrogate escape (e.g. \\ud800), "
                       "which is not text. Send valid Unicode.")


def parse_json(body: bytes):
    """``body`` decoded with the bounds every API body has, for views that read the raw
    body themselves (a webhook checks its signature on the bytes first)."""
    check_depth(body)
    try:
        data = json.loads(body)
    except ValueError as exc:  # UnicodeDecodeError included
        raise ApiError(400, "invalid_json", "The body is not valid JSON.",
                       errors={"body": [str(exc)[:200]]}) from None
    check_text(data)
    return data


def fast_json_body(request):
    """The body of a bulk endpoint (a batch of 1,000 events) decoded by orjson, a fifth of
    the time of ``parse_json``.  orjson refuses lone surrogates and nesting past 1,024
    itself; a body it refuses gets the kernel's answer (``too_deep``, ``invalid_text``,
    ``invalid_json``).  Callers bound the depth of what they keep in their validation."""
    media_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        return request.data  # forms and the rest: DRF's parsers (or its 415)
    try:
        body = request.body  # over DATA_UPLOAD_MAX_MEMORY_SIZE: RequestDataTooBig, a 413
    except RawPostDataException:  # already read (a CSRF check of a session's form post)
        return request.data
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        parse_json(body)  # the kernel's own refusal (too_deep, invalid_text, invalid_json)
        raise ApiError(400, "invalid_json", "The body is not valid JSON.",
                       errors={"body": [str(exc)[:200]]}) from None


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        body = read_bounded(stream, max_size())
        check_depth(body)
        data = super().parse(io.BytesIO(body), media_type, parser_context)
        check_text(data)
        return data


class FormParser(parsers.FormParser):
    """DRF's form parser reads the whole body; this one stops at the size limit."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_bounded(stream, max_size())
        return super().parse(io.BytesIO(body), media_type, parser_context)

"""Execution data: inline JSON in the row when small, a file in storage when large.

Rows of executions and spans are read in lists (admin, API); a 50 MB output in a
JSON column would make every such page slow.  Past ``WORKFLOW_INLINE_DATA_BYTES``
the value goes to the model's file field and the column keeps a marker
``{"$ref": "file", "bytes": n}``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder

REF = "$ref"


def dumps(value: Any) -> bytes:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False,
                      separators=(",", ":")).encode()


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and value.get(REF) == "file"


def store(instance, column: str, file_field: str, value: Any, *, stem: str) -> None:
    """Set ``instance.<column>`` to ``value``, or to a marker and the file (not saved)."""
    raw = dumps(value)
    field = getattr(instance, file_field)
    if len(raw) <= settings.WORKFLOW_INLINE_DATA_BYTES:
        setattr(instance, column, json.loads(raw))  # what the row will hold, JSON-clean
        return
    field.save(f"{stem}-{uuid.uuid4().hex[:8]}.json", ContentFile(raw), save=False)
    setattr(instance, column, {REF: "file", "bytes": len(raw)})


def load(instance, column: str, file_field: str) -> Any:
    """The value, read back from storage when the row holds a marker."""
    value = getattr(instance, column)
    field = getattr(instance, file_field)
    if is_ref(value) and field:
        with field.open("rb") as stored:
            return json.loads(stored.read())
    return value


def inline_or_marker(value: Any) -> Any:
    """``value`` when small enough for a row, else a marker saying how big it was
    (for copies kept only for display, such as a span's input)."""
    raw = dumps(value)
    if len(raw) <= settings.WORKFLOW_INLINE_DATA_BYTES:
        return json.loads(raw)
    return {REF: "omitted", "bytes": len(raw)}

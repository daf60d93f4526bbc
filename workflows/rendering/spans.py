"""An execution's spans as a tree (parent_span_id), one row per attempt, and their data.

The engine records each attempt of a node as a span whose ``parent_span_id`` is the
span that led to it; a span whose parent is absent (the entry spans, or a parent
pruned away) is a root.  Children follow their start time, attempts in order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: Pretty JSON longer than this is cut in the page (the whole value stays in the row).
SHOWN_CHARS = 20_000
MAX_DEPTH = 12  # deeper rows are drawn at this indent


@dataclass
class SpanRow:
    span: Any
    depth: int
    children: list[SpanRow] = field(default_factory=list)

    @property
    def indent(self) -> int:
        return min(self.depth, MAX_DEPTH)


def _order(span):
    started = span.started_at
    return (started is None, started.timestamp() if started else 0, span.attempt, span.pk or 0)


def span_tree(spans) -> list[SpanRow]:
    """Rows in display order (depth first), each with its depth in the tree."""
    spans = sorted(spans, key=_order)
    by_id = {span.span_id: SpanRow(span, 0) for span in spans if span.span_id}
    roots: list[SpanRow] = []
    rows = [by_id.get(span.span_id) or SpanRow(span, 0) for span in spans]
    for row in rows:
        parent = by_id.get(row.span.parent_span_id) if row.span.parent_span_id else None
        if parent is None or parent is row:
            roots.append(row)
        else:
            parent.children.append(row)
    ordered: list[SpanRow] = []
    seen: set[int] = set()

    def walk(row: SpanRow, depth: int) -> None:
        if id(row) in seen:  # a parent_span_id cycle: bad data, still shown once
            return
        seen.add(id(row))
        row.depth = depth
        ordered.append(row)
        for child in row.children:
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    for row in rows:  # rows only reachable through a cycle
        if id(row) not in seen:
            walk(row, 0)
    return ordered


def is_file_ref(value) -> bool:
    """The engine's marker for data kept in file storage: ``{"$ref": "file", "bytes": n}``."""
    return isinstance(value, dict) and value.get("$ref") == "file"


def pretty_json(value) -> tuple[str, bool]:
    """Indented JSON for the page and whether it was cut at ``SHOWN_CHARS``."""
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    if len(text) > SHOWN_CHARS:
        return text[:SHOWN_CHARS] + "\n…", True
    return text, False

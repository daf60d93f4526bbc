"""A workflow's graph as an SVG picture: layered left to right, boxes coloured by category.

Works on the snapshot format (``workflows.snapshot``), so drafts and published
versions draw alike.  Layers come from networkx's topological generations; a graph
with a cycle (invalid, but the admin must still show it) is layered on its
condensation, the nodes of a cycle stacked in one layer.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

#: Fill colours by node category (registry.CATEGORIES keys); unknown types are grey.
CATEGORY_COLOURS = {
    "triggers": "#dcfce7", "core": "#e0e7ff", "data": "#fef9c3", "integrations": "#dbeafe",
    "platform": "#fae8ff", "ai": "#ffedd5",
}
UNKNOWN_COLOUR = "#e5e7eb"
BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 170, 54, 80, 28, 20
LANE_GAP = 24
LABEL_MAX = 24


def _short(text: str, limit: int = LABEL_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def node_category(type_key: str) -> str | None:
    """The category of a node type from the code registry (None when unknown)."""
    from workflows.nodes import registry

    node_type = registry.find(type_key)
    return node_type.category if node_type is not None else None


def layers(graph: dict) -> list[list[str]]:
    """Node keys by layer (left to right); within a layer, by drawn position then key."""
    nodes = {n["key"]: n for n in graph.get("nodes", [])}
    digraph = nx.DiGraph()
    digraph.add_nodes_from(nodes)
    digraph.add_edges_from((c["source"], c["target"]) for c in graph.get("connections", [])
                           if c.get("source") in nodes and c.get("target") in nodes)
    condensed = nx.condensation(digraph)
    members = condensed.graph["mapping"]  # node key -> component id
    layer_of_component = {}
    for depth, generation in enumerate(nx.topological_generations(condensed)):
        for component in generation:
            layer_of_component[component] = depth
    result: list[list[str]] = [[] for _ in range(len(set(layer_of_component.values())))]
    for key in nodes:
        result[layer_of_component[members[key]]].append(key)

    def order(key):
        position = nodes[key].get("position") or [0, 0]
        return (position[1] if len(position) > 1 else 0, key)

    return [sorted(layer, key=order) for layer in result]


#: Outlines for a run's node statuses (the status of the node's latest attempt).
STATUS_STROKES = {"succeeded": "#15803d", "failed": "#b91c1c", "timed_out": "#b91c1c",
                  "running": "#2563eb", "cancelled": "#b45309", "skipped": "#9ca3af",
                  "queued": "#6b7280", "pending": "#6b7280"}


def render_graph(graph: dict, *, problems: Iterable[dict] = (),
                 categories: dict[str, str | None] | None = None,
                 statuses: dict[str, str] | None = None) -> SafeString:
    """The SVG markup of ``graph``; nodes named in ``problems`` get a red outline.

    ``categories`` maps node type keys to categories (default: the code registry);
    ``statuses`` (node key → span status) draws a run on the graph: outlines by status.
    """
    nodes = {n["key"]: n for n in graph.get("nodes", [])}
    if not nodes:
        return mark_safe('<p class="wf-empty">No nodes yet.</p>')
    flagged = {p.get("node") for p in problems if p.get("node")}
    placed: dict[str, tuple[int, int]] = {}
    grid = layers(graph)
    column_of = {key: column for column, layer in enumerate(grid) for key in layer}
    tallest = max(len(layer) for layer in grid)
    top = MARGIN + LANE_GAP  # room above the boxes for connections that skip layers
    for column, layer in enumerate(grid):
        offset = (tallest - len(layer)) * (BOX_H + GAP_Y) // 2  # centre short layers
        for row, key in enumerate(layer):
            placed[key] = (MARGIN + column * (BOX_W + GAP_X),
                           top + offset + row * (BOX_H + GAP_Y))
    width = 2 * MARGIN + len(grid) * BOX_W + (len(grid) - 1) * GAP_X
    height = top + MARGIN + tallest * BOX_H + (tallest - 1) * GAP_Y
    links = [c for c in graph.get("connections", [])
             if c.get("source") in placed and c.get("target") in placed]
    if any(column_of[c["target"]] <= column_of[c["source"]] for c in links):
        height += BOX_H  # back edges (a cycle) loop around below

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wf-graph" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="Workflow graph: {len(nodes)} nodes">',
        "<defs>"
        '<marker id="wf-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#4b5563"/></marker>'
        '<marker id="wf-arrow-error" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#b91c1c"/></marker></defs>',
    ]
    for connection in links:
        source, target = column_of[connection["source"]], column_of[connection["target"]]
        between = [placed[key][1] for key, column in column_of.items()
                   if source < column < target]
        lane = min(between) - LANE_GAP // 2 if between else None
        parts.append(_edge(placed[connection["source"]], placed[connection["target"]],
                           connection, lane))
    for key, node in nodes.items():
        category = (categories or {}).get(node.get("type", "")) if categories is not None \
            else node_category(node.get("type", ""))
        parts.append(_box(placed[key], node, category, key in flagged,
                          (statuses or {}).get(key)))
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _edge(start: tuple[int, int], end: tuple[int, int], connection: dict,
          lane: int | None = None) -> str:
    """A connection's path; ``lane``: a height to cross skipped layers at, above their boxes."""
    x1, y1 = start[0] + BOX_W, start[1] + BOX_H // 2
    x2, y2 = end[0], end[1] + BOX_H // 2
    if lane is not None and x2 > x1:
        turn = GAP_X // 2
        d = (f"M{x1},{y1} C{x1 + turn},{y1} {x1},{lane} {x1 + turn},{lane} "
             f"L{x2 - turn},{lane} C{x2},{lane} {x2 - turn},{y2} {x2},{y2}")
        mid_x, mid_y = (x1 + x2) // 2, lane - 4
    elif x2 <= x1:  # a back edge (a cycle) or same layer: loop around below
        bend = max(y1, y2) + BOX_H
        d = f"M{x1},{y1} C{x1 + 60},{bend} {x2 - 60},{bend} {x2},{y2}"
        mid_x, mid_y = (x1 + x2) // 2, bend - 8
    else:
        mid = (x1 + x2) // 2
        d = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
        mid_x, mid_y = mid, (y1 + y2) // 2 - 6
    port = str(connection.get("source_output") or "main")
    target_port = str(connection.get("target_input") or "main")
    is_error = port == "error"
    colour, marker = ("#b91c1c", "wf-arrow-error") if is_error else ("#4b5563", "wf-arrow")
    dash = ' stroke-dasharray="5 3"' if is_error else ""
    title = escape(f"{connection.get('source')}.{port} → {connection.get('target')}."
                   f"{target_port}")
    edge = (f'<g class="wf-edge" data-source="{escape(connection.get("source"))}" '
            f'data-target="{escape(connection.get("target"))}"><title>{title}</title>'
            f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.6"{dash} '
            f'marker-end="url(#{marker})"/>')
    if port != "main":
        edge += (f'<text x="{mid_x}" y="{mid_y}" text-anchor="middle" font-size="11" '
                 f'font-family="sans-serif" fill="{colour}" class="wf-port">'
                 f"{escape(_short(port, 16))}</text>")
    return edge + "</g>"


def _box(at: tuple[int, int], node: dict, category: str | None, flagged: bool,
         status: str | None = None) -> str:
    x, y = at
    key = str(node.get("key", ""))
    label = str(node.get("name") or key)
    fill = CATEGORY_COLOURS.get(category or "", UNKNOWN_COLOUR)
    stroke, stroke_width = ("#b91c1c", 2.5) if flagged else ("#6b7280", 1)
    if status:
        stroke, stroke_width = STATUS_STROKES.get(status, "#6b7280"), 3
    dash = ' stroke-dasharray="4 3"' if node.get("disabled") else ""
    opacity = ' opacity="0.6"' if node.get("disabled") else ""
    notes = [f"{key} ({node.get('type', '')})", f"category: {category or 'unknown type'}"]
    if node.get("disabled"):
        notes.append("disabled")
    if flagged:
        notes.append("has problems")
    if status:
        notes.append(f"this run: {status}")
    state = f' data-status="{escape(status)}"' if status else ""
    return (f'<g class="wf-node" data-key="{escape(key)}"{state}{opacity}>'
            f"<title>{escape(' · '.join(notes))}</title>"
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{stroke_width}"{dash}/>'
            f'<text x="{x + 10}" y="{y + 22}" font-size="13" font-weight="bold" '
            f'font-family="sans-serif" fill="#111827">{escape(_short(label))}</text>'
            f'<text x="{x + 10}" y="{y + 40}" font-size="11" font-family="monospace" '
            f'fill="#374151">{escape(_short(str(node.get("type", "")), 26))}</text></g>')

"""The admin's server-side pictures: the workflow graph, the span tree, the Gantt chart."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

from django.utils import timezone

from workflows.models import NodeExecution
from workflows.rendering.gantt import render_gantt
from workflows.rendering.graph_svg import layers, render_graph
from workflows.rendering.spans import pretty_json, span_tree

SVG = "{http://www.w3.org/2000/svg}"
T0 = timezone.now().replace(microsecond=0)


def node(key, type_="trigger", name="", **extra):
    return {"key": key, "type": type_, "name": name, "config": {}, "position": [0, 0], **extra}


def edge(source, target, output="main"):
    return {"source": source, "source_output": output, "target": target, "target_input": "main"}


GRAPH = {
    "nodes": [node("start", name="Start"), node("fetch", "http_request", "Fetch orders"),
              node("check", "condition", "Big order?"), node("notify", "send_email", "Mail"),
              node("log", "set", "Log")],
    "connections": [edge("start", "fetch"), edge("fetch", "check"),
                    edge("check", "notify", "true"), edge("check", "log", "false"),
                    edge("fetch", "log", "error")],
    "settings": {},
}


def parse(svg) -> ET.Element:
    return ET.fromstring(str(svg))  # well-formed XML, or this raises


def texts(root) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text")]


def test_the_graph_is_layered_from_the_trigger_onwards():
    assert layers(GRAPH) == [["start"], ["fetch"], ["check"], ["log", "notify"]]


def test_every_node_is_drawn_with_its_label_and_every_connection_as_a_path():
    root = parse(render_graph(GRAPH, categories={"trigger": "triggers"}))
    drawn = {g.get("data-key") for g in root.iter(f"{SVG}g") if g.get("class") == "wf-node"}
    assert drawn == {"start", "fetch", "check", "notify", "log"}
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "wf-edge"]
    assert len(edges) == 5
    assert {"Start", "Fetch orders", "Big order?", "Mail", "Log"} <= set(texts(root))
    # Ports other than "main" are labelled on their connection.
    ports = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "wf-port"]
    assert sorted(ports) == ["error", "false", "true"]


def test_nodes_are_coloured_by_category_and_unknown_types_grey():
    root = parse(render_graph(GRAPH, categories={"trigger": "triggers"}))
    fills = {g.get("data-key"): g.find(f"{SVG}rect").get("fill")
             for g in root.iter(f"{SVG}g") if g.get("class") == "wf-node"}
    assert fills["start"] != fills["fetch"]
    assert fills["fetch"] == fills["log"]  # both unknown here


def test_text_in_the_graph_is_escaped():
    evil = {"nodes": [node("start", name='<script>"x" & y'),
                      node("b", '"><img src=x onerror=1>')],
            "connections": [edge("start", "b", "<b>port</b>")], "settings": {}}
    svg = str(render_graph(evil, categories={}))
    assert "<script" not in svg and "<img" not in svg and "<b>" not in svg
    root = parse(svg)
    assert '<script>"x" & y' in texts(root)  # shown as written, never as markup


def test_a_graph_with_a_cycle_or_a_dangling_connection_still_draws():
    cyclic = {"nodes": [node("a"), node("b"), node("c")],
              "connections": [edge("a", "b"), edge("b", "c"), edge("c", "b"),
                              edge("a", "ghost")], "settings": {}}
    root = parse(render_graph(cyclic, categories={}))
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "wf-node"]) == 3
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "wf-edge"]) == 3


def test_nodes_with_problems_are_outlined():
    root = parse(render_graph(GRAPH, categories={},
                              problems=[{"node": "check", "field": "config", "message": "x"}]))
    strokes = {g.get("data-key"): g.find(f"{SVG}rect").get("stroke")
               for g in root.iter(f"{SVG}g") if g.get("class") == "wf-node"}
    assert strokes["check"] != strokes["start"]


def test_an_empty_graph_says_so():
    assert "No nodes" in render_graph({"nodes": [], "connections": []})


def span(key, attempt=1, status="succeeded", start=0.0, seconds=1.0, parent="", span_id=None,
         pk=None, error=""):
    started = T0 + timedelta(seconds=start) if start is not None else None
    finished = started + timedelta(seconds=seconds) if started and seconds is not None \
        else None
    return NodeExecution(pk=pk, node_key=key, node_type="set", attempt=attempt, status=status,
                         span_id=span_id or f"{key}{attempt}".ljust(16, "0")[:16],
                         parent_span_id=parent, started_at=started, finished_at=finished,
                         duration_ms=int(seconds * 1000) if finished else None, error=error)


def run_spans():
    start = span("start", start=0, seconds=0.05, span_id="a" * 16)
    fetch1 = span("fetch", 1, "failed", 0.1, 0.4, parent="a" * 16, error="HTTP 503 <boom>")
    fetch2 = span("fetch", 2, "succeeded", 1.0, 0.6, parent="a" * 16, span_id="b" * 16)
    report = span("report", 1, "running", 1.7, None, parent="b" * 16)
    mail = span("mail", 1, "queued", None, None, parent="b" * 16)
    return [mail, report, fetch2, fetch1, start]  # any order in


def test_the_span_tree_nests_children_under_parents_with_one_row_per_attempt():
    rows = span_tree(run_spans())
    assert [(r.span.node_key, r.span.attempt, r.depth) for r in rows] == [
        ("start", 1, 0), ("fetch", 1, 1), ("fetch", 2, 1), ("report", 1, 2), ("mail", 1, 2)]


def test_the_span_tree_survives_orphans_and_cycles():
    a = span("a", span_id="1" * 16, parent="2" * 16)
    b = span("b", span_id="2" * 16, parent="1" * 16, start=2)
    orphan = span("c", parent="f" * 16, start=3)
    rows = span_tree([a, b, orphan])
    assert sorted(r.span.node_key for r in rows) == ["a", "b", "c"]


def test_the_gantt_chart_has_a_bar_per_attempt_ordered_by_start():
    root = parse(render_gantt(run_spans(), start=T0, now=T0 + timedelta(seconds=2)))
    bars = [g for g in root.iter(f"{SVG}g") if g.get("class") == "wf-bar"]
    assert [(b.get("data-node"), b.get("data-attempt")) for b in bars] == [
        ("start", "1"), ("fetch", "1"), ("fetch", "2"), ("report", "1"), ("mail", "1")]
    xs = [float(b.find(f"{SVG}rect").get("x")) for b in bars if b.find(f"{SVG}rect") is not None]
    assert xs == sorted(xs) and len(xs) == 4  # the queued span has no bar
    # Status colours: the failed attempt and the retry differ.
    colour = {(b.get("data-node"), b.get("data-attempt")): b.find(f"{SVG}rect").get("fill")
              for b in bars if b.find(f"{SVG}rect") is not None}
    assert colour[("fetch", "1")] != colour[("fetch", "2")]
    assert "not started" in " ".join(texts(root))


def test_bars_are_placed_and_sized_by_time():
    root = parse(render_gantt([span("a", start=0, seconds=1), span("b", start=1, seconds=3)],
                              start=T0))
    rects = list(root.iter(f"{SVG}rect"))
    a, b = (float(r.get("x")) for r in rects)
    wa, wb = (float(r.get("width")) for r in rects)
    assert b > a and wb > 2.5 * wa


def test_gantt_text_is_escaped():
    evil = span('<x onload="1">', error="</title><script>1</script>")
    svg = str(render_gantt([evil], start=T0))
    assert "<script" not in svg and "<x " not in svg
    parse(svg)


def test_gantt_without_spans_says_so():
    assert "No spans" in render_gantt([])


def test_pretty_json_is_indented_and_cut_when_large():
    text, cut = pretty_json({"b": 1, "a": [1, 2]})
    assert text.startswith('{\n  "a"') and not cut
    text, cut = pretty_json({"big": "x" * 50_000})
    assert cut and len(text) < 21_000
    assert re.search(r"…$", text)


def test_a_run_outlines_nodes_by_status():
    root = parse(render_graph(GRAPH, categories={},
                              statuses={"fetch": "failed", "start": "succeeded"}))
    nodes = {g.get("data-key"): g for g in root.iter(f"{SVG}g") if g.get("class") == "wf-node"}
    assert nodes["fetch"].get("data-status") == "failed"
    assert nodes["check"].get("data-status") is None  # not reached
    assert nodes["fetch"].find(f"{SVG}rect").get("stroke") != \
        nodes["start"].find(f"{SVG}rect").get("stroke")

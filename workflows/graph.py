"""The rules a workflow graph must keep, checked on the snapshot format.

``graph_problems`` works on ``workflows.snapshot`` dictionaries, so one function
checks a draft (``graph_snapshot(workflow)``), an import and a published version
alike.  Each problem names the node (or ``None`` for the graph as a whole), the
field and what is wrong::

    {"node": "fetch", "field": "config.url", "message": "..."}

Rules: node types exist and their config is valid; at least one trigger node;
no cycles; every node reachable from a trigger; connections only from an output
the source type declares (or ``error``) to an input the target type declares;
expressions parse and name only nodes upstream of theirs.
"""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx

from .nodes import registry

#: Every node may fail on through this output when ``continue_on_fail`` is set.
ERROR_OUTPUT = "error"


def _problem(node: str | None, field: str, message: str) -> dict:
    return {"node": node, "field": field, "message": message}


def _strings(value, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a config value with its dotted path (``config.headers.Accept``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}")


def _config_field(message: str) -> tuple[str, str]:
    """``registry.config_errors`` says ``"url: 'x' is not a 'uri'"``: split off the path."""
    where, sep, rest = message.partition(": ")
    if sep and where and " " not in where:
        return ("config" if where == "config" else f"config.{where}"), rest
    return "config", message


def graph_problems(graph: dict) -> list[dict]:
    """Every problem with ``graph`` (a snapshot); empty when it may be published."""
    if not isinstance(graph, dict):
        return [_problem(None, "graph", "The graph must be an object with nodes and "
                                        "connections.")]
    nodes = graph.get("nodes") or []
    connections = graph.get("connections") or []
    if not isinstance(nodes, list) or not isinstance(connections, list):
        return [_problem(None, "graph", "nodes and connections must be lists.")]

    problems: list[dict] = []
    types: dict[str, type | None] = {}
    configs: dict[str, dict] = {}
    digraph = nx.DiGraph()
    for index, node in enumerate(nodes):
        key = node.get("key") if isinstance(node, dict) else None
        if not isinstance(key, str) or not key:
            problems.append(_problem(None, f"nodes.{index}.key", "Every node needs a key."))
            continue
        if key in types:
            problems.append(_problem(key, "key", f"Two nodes have the key {key!r}."))
            continue
        node_type = registry.find(node.get("type") or "")
        types[key] = node_type
        configs[key] = node.get("config") if isinstance(node.get("config"), dict) else {}
        digraph.add_node(key)
        if node_type is None:
            problems.append(_problem(key, "type", f"No node type {node.get('type')!r}; the "
                                     "catalogue lists them (/api/v1/workflows/node-types/)."))
            continue
        for message in registry.config_errors(node_type, node.get("config", {})):
            field, text = _config_field(message)
            problems.append(_problem(key, field, text))

    for index, edge in enumerate(connections):
        problems += _connection_problems(index, edge, types, configs, digraph)

    triggers = [key for key, t in types.items() if t is not None and t.is_trigger]
    if not triggers and types:
        problems.append(_problem(None, "nodes", "The workflow has no trigger node: add one "
                                                "(type \"trigger\") where executions start."))
    elif not types:
        problems.append(_problem(None, "nodes", "The workflow has no nodes."))

    cycles = _cycles(digraph)
    for cycle in cycles:
        path = " → ".join([*cycle, cycle[0]])
        problems.append(_problem(cycle[0], "connections",
                                 f"The connections form a cycle: {path}."))

    if triggers:
        reachable = set(triggers)
        for key in triggers:
            reachable |= nx.descendants(digraph, key)
        for key in types:
            if key not in reachable:
                problems.append(_problem(key, "connections", f"Node {key!r} is not reachable "
                                         "from a trigger node: connect it to the graph."))

    if not cycles:
        problems += _expression_problems(digraph, configs)
    return problems


def _connection_problems(index: int, edge, types: dict, configs: dict,
                         digraph: nx.DiGraph) -> list[dict]:
    where = f"connections.{index}"
    if not isinstance(edge, dict):
        return [_problem(None, where, "A connection must be an object.")]
    source, target = edge.get("source"), edge.get("target")
    output = edge.get("source_output") or "main"
    port = edge.get("target_input") or "main"
    found = []
    for name, key in (("source", source), ("target", target)):
        if key not in types:
            found.append(_problem(None, f"{where}.{name}", f"No node {key!r} in this graph."))
    if found:
        return found
    for field, message in port_problems(source, types[source], configs[source], output,
                                        target, types[target], port).items():
        found.append(_problem(source if field == "source_output" else target, field, message))
    digraph.add_edge(source, target)
    return found


def port_problems(source: str, source_type, source_config, output: str,
                  target: str, target_type, port: str) -> dict[str, str]:
    """The port rule, for graphs and for draft edits alike: the source has the output
    (a switch names its own; every node has "error"), the target has the input."""
    problems = {}
    outputs = source_type.outputs_for(source_config) if source_type is not None else ()
    if source_type is not None and output != ERROR_OUTPUT and output not in outputs:
        declared = ", ".join([*outputs, ERROR_OUTPUT])
        problems["source_output"] = (f"{source!r} ({source_type.key}) has no output "
                                     f"{output!r}; its outputs: {declared}.")
    if target_type is not None and port not in target_type.inputs:
        declared = ", ".join(target_type.inputs) or "none (it is an entry point)"
        problems["target_input"] = (f"{target!r} ({target_type.key}) has no input {port!r}; "
                                    f"its inputs: {declared}.")
    return problems


def _cycles(digraph: nx.DiGraph) -> list[list[str]]:
    """One list of node keys per strongly connected loop (a self-loop included)."""
    found = []
    for component in nx.strongly_connected_components(digraph):
        if len(component) > 1:
            cycle = nx.find_cycle(digraph.subgraph(component))
            found.append([edge[0] for edge in cycle])
        else:
            (key,) = component
            if digraph.has_edge(key, key):
                found.append([key])
    return sorted(found)


def _expression_problems(digraph: nx.DiGraph, configs: dict[str, dict]) -> list[dict]:
    from . import expressions  # the expression language; imported when checking

    problems = []
    for key, config in configs.items():
        upstream = nx.ancestors(digraph, key)
        for path, text in _strings(config, "config"):
            if not expressions.is_template(text):
                continue
            errors = expressions.parse_errors(text)
            for message in errors:
                problems.append(_problem(key, path, message))
            if errors:
                continue
            for name in sorted(expressions.referenced_nodes(text) - upstream):
                if name == key:
                    message = f"An expression names its own node {name!r}."
                elif name in configs:
                    message = (f"An expression names {name!r}, which is not upstream of "
                               f"{key!r}: its output does not exist yet when {key!r} runs.")
                else:
                    message = f"An expression names {name!r}, which is not a node here."
                problems.append(_problem(key, path, message))
    return problems

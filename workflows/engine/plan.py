"""A version's graph read for running: nodes by key, edges in and out, a run order.

The engine works only from ``WorkflowVersion.graph`` (``workflows.snapshot``), never
from the draft's Node rows, so editing a workflow never changes a running execution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx

from ..nodes import registry


@dataclass(frozen=True)
class Edge:
    source: str
    source_output: str
    target: str
    target_input: str


@dataclass
class Plan:
    graph: dict
    nodes: dict[str, dict] = field(init=False)
    incoming: dict[str, list[Edge]] = field(init=False)
    outgoing: dict[str, list[Edge]] = field(init=False)

    def __post_init__(self):
        self.nodes = {n["key"]: n for n in self.graph.get("nodes", [])}
        self.incoming = {key: [] for key in self.nodes}
        self.outgoing = {key: [] for key in self.nodes}
        for c in self.graph.get("connections", []):
            edge = Edge(c["source"], c.get("source_output") or "main", c["target"],
                        c.get("target_input") or "main")
            if edge.source in self.nodes and edge.target in self.nodes:
                self.incoming[edge.target].append(edge)
                self.outgoing[edge.source].append(edge)

    @property
    def settings(self) -> dict:
        return self.graph.get("settings") or {}

    @cached_property
    def order(self) -> list[str]:
        """Nodes upstream first (a stable topological order; ties by key)."""
        digraph = nx.DiGraph()
        digraph.add_nodes_from(self.nodes)
        digraph.add_edges_from((e.source, e.target) for edges in self.outgoing.values()
                               for e in edges)
        return list(nx.lexicographical_topological_sort(digraph))

    def entry_keys(self) -> list[str]:
        return [key for key in self.order if not self.incoming[key]]

    def sinks(self) -> list[str]:
        return [key for key in self.order if not self.outgoing[key]]

    def downstream(self, key: str) -> set[str]:
        """``key`` and every node after it."""
        seen, todo = {key}, [key]
        while todo:
            for edge in self.outgoing[todo.pop()]:
                if edge.target not in seen:
                    seen.add(edge.target)
                    todo.append(edge.target)
        return seen

    def node_type(self, key: str):
        return registry.find(self.nodes[key]["type"])

    def timeout(self, key: str) -> int:
        node = self.nodes[key]
        if node.get("timeout"):
            return int(node["timeout"])
        node_type = self.node_type(key)
        return int(node_type.default_timeout if node_type else 300)

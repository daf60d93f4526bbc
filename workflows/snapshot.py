"""The frozen form of a workflow's graph: what a version stores and executions run.

    {"nodes": [{"key", "type", "name", "config", "retry_policy", "timeout",
                "continue_on_fail", "disabled", "position": [x, y]}, ...],
     "connections": [{"source", "source_output", "target", "target_input"}, ...],
     "settings": {"execution_timeout", "retry_policy", "concurrency_limit",
                  "timezone", "input_schema"}}

Nodes sort by key and connections by their four fields, so the same graph always
gives the same checksum. Export/import uses the same shape.
"""

from __future__ import annotations

import hashlib
import json

SETTINGS = ("execution_timeout", "retry_policy", "concurrency_limit", "timezone",
            "input_schema")


def graph_snapshot(workflow) -> dict:
    nodes = [{"key": n.key, "type": n.type, "name": n.name, "config": n.config,
              "retry_policy": n.retry_policy, "timeout": n.timeout,
              "continue_on_fail": n.continue_on_fail, "disabled": n.disabled,
              "position": [n.position_x, n.position_y]}
             for n in workflow.nodes.order_by("key")]
    connections = sorted(
        ({"source": c.source.key, "source_output": c.source_output,
          "target": c.target.key, "target_input": c.target_input}
         for c in workflow.connections.select_related("source", "target")),
        key=lambda c: (c["source"], c["source_output"], c["target"], c["target_input"]))
    return {"nodes": nodes, "connections": connections,
            "settings": {name: getattr(workflow, name) for name in SETTINGS}}


def checksum(graph: dict) -> str:
    canonical = json.dumps(graph, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()

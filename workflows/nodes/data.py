"""Data nodes: reshape JSON with JMESPath, set values.  Pure: no side effects, no I/O."""

from __future__ import annotations

import jmespath
from jmespath.exceptions import JMESPathError

from . import registry
from .base import NodeContext, NodeError, NodeResult, NodeType
from .common import checked_config


def search(expression: str, data, *, field: str):
    """``jmespath.search`` with errors that name the config field."""
    try:
        return jmespath.search(expression, data)
    except JMESPathError as exc:
        message = " ".join(str(exc).split())
        raise NodeError(f"{field}: JMESPath {expression!r}: {message}",
                        retryable=False) from None


@registry.register
class JsonTransformNode(NodeType):
    key = "json_transform"
    name = "JSON transform"
    category = "data"
    description = ("Select and reshape JSON with a JMESPath expression, e.g. "
                   "items[?qty > `5`].{sku: sku, qty: qty}.")
    config_schema = {
        "type": "object",
        "properties": {
            "expression": {"type": "string", "minLength": 1, "maxLength": 4000,
                           "description": "JMESPath applied to the data."},
            "data": {"description": "What to transform (default: the node's input)."},
        },
        "required": ["expression"],
        "additionalProperties": False,
    }

    def run(self, context: NodeContext) -> NodeResult:
        config = checked_config(self, context.config)
        data = config.get("data", context.main)
        return NodeResult(output=search(config["expression"], data, field="expression"))


@registry.register
class SetValuesNode(NodeType):
    key = "set_values"
    name = "Set values"
    category = "data"
    description = ("Output an object of values (expressions allowed), merged over the input "
                   "object or on their own; dotted names (customer.name) set nested keys.")
    config_schema = {
        "type": "object",
        "properties": {
            "values": {"type": "object"},
            "mode": {"enum": ["merge", "replace"], "default": "merge",
                     "description": "merge: over the input object; replace: values only."},
            "dot_notation": {"type": "boolean", "default": True},
        },
        "required": ["values"],
        "additionalProperties": False,
    }

    def run(self, context: NodeContext) -> NodeResult:
        config = checked_config(self, context.config)
        base = context.main if config.get("mode", "merge") == "merge" else None
        output = _copy(base) if isinstance(base, dict) else {}
        for name, value in config["values"].items():
            path = name.split(".") if config.get("dot_notation", True) else [name]
            _set(output, path, value, name)
        return NodeResult(output=output)


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _set(target: dict, path: list[str], value, name: str) -> None:
    if any(part == "" for part in path):
        raise NodeError(f"values.{name}: a name cannot have an empty part.", retryable=False)
    for part in path[:-1]:
        child = target.get(part)
        if child is None:
            child = target[part] = {}
        elif not isinstance(child, dict):
            raise NodeError(f"values.{name}: {part} is a {type(child).__name__}, not an "
                            f"object.", retryable=False)
        target = child
    target[path[-1]] = value

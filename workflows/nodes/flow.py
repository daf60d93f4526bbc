"""Flow nodes: branch (condition, switch), join (merge) and loop over items.  Pure data
nodes: they route or reshape what they receive and call nothing.

Branching nodes pass their input on unchanged on the output(s) they take; connections
from the other outputs are not taken, and what hangs only from them is skipped.
"""

from __future__ import annotations

import operator

from ..policies import NODE_KEY
from . import registry
from .base import NodeContext, NodeError, NodeResult, NodeType
from .common import checked_config
from .data import search

#: Text that reads as false when a condition's value is text (an expression in a sentence).
FALSE_TEXT = {"", "false", "0", "no", "off", "none", "null"}


def truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in FALSE_TEXT
    return bool(value)


def _contains(container, item) -> bool:
    if container is None:
        return False
    if isinstance(container, str):
        return str(item) in container
    return item in container


def _compare(op):
    def compare(left, right):
        try:
            return op(left, right)
        except TypeError:
            raise NodeError(f"Cannot compare {type(left).__name__} {left!r} with "
                            f"{type(right).__name__} {right!r}.", retryable=False) from None
    return compare


#: operator name → (left, right) → bool.  ``right`` is ignored by the unary ones.
OPERATORS = {
    "equals": operator.eq,
    "not_equals": operator.ne,
    "gt": _compare(operator.gt),
    "gte": _compare(operator.ge),
    "lt": _compare(operator.lt),
    "lte": _compare(operator.le),
    "contains": _contains,
    "not_contains": lambda left, right: not _contains(left, right),
    "in": lambda left, right: _contains(right, left),
    "starts_with": lambda left, right: str(left).startswith(str(right)),
    "ends_with": lambda left, right: str(left).endswith(str(right)),
    "is_empty": lambda left, right: left in (None, "", [], {}),
    "is_not_empty": lambda left, right: left not in (None, "", [], {}),
    "is_true": lambda left, right: truthy(left),
    "is_false": lambda left, right: not truthy(left),
}

_RULE = {
    "type": "object",
    "properties": {"left": {}, "operator": {"enum": list(OPERATORS)}, "right": {}},
    "required": ["left", "operator"],
    "additionalProperties": False,
}


def _rule_holds(rule: dict) -> bool:
    return OPERATORS[rule["operator"]](rule.get("left"), rule.get("right"))


@registry.register
class ConditionNode(NodeType):
    key = "condition"
    name = "Condition (if)"
    category = "core"
    description = ("Send the input on \"true\" or \"false\": by the truth of a value "
                   "({{ nodes.a.output.count > 5 }}) or by rules (left, operator, right) "
                   "that must all (or any) hold.")
    outputs = ("true", "false")
    config_schema = {
        "type": "object",
        "properties": {
            "value": {"description": "Its truth decides (text such as \"false\", \"0\", "
                                     "\"no\" or empty is false)."},
            "rules": {"type": "array", "minItems": 1, "items": _RULE},
            "combine": {"enum": ["all", "any"], "default": "all"},
        },
        "additionalProperties": False,
        "oneOf": [{"required": ["value"]}, {"required": ["rules"]}],
    }

    def run(self, context: NodeContext) -> NodeResult:
        config = checked_config(self, context.config)
        if "rules" in config:
            combine = all if config.get("combine", "all") == "all" else any
            holds = combine(_rule_holds(rule) for rule in config["rules"])
        else:
            holds = truthy(config["value"])
        return NodeResult(output=context.main, ports=("true" if holds else "false",))


_PORT = NODE_KEY.pattern


@registry.register
class SwitchNode(NodeType):
    key = "switch"
    name = "Switch"
    category = "core"
    description = ("Send the input on the output of the first case (or every case) its value "
                   "matches, else on \"default\"; each case names its output.")
    #: The outputs of a switch are its cases' plus "default": see ``outputs_for``.
    outputs = ("default",)
    config_schema = {
        "type": "object",
        "properties": {
            "value": {"description": "What the cases are compared with."},
            "cases": {"type": "array", "minItems": 1, "maxItems": 64, "items": {
                "type": "object",
                "properties": {
                    "output": {"type": "string", "pattern": _PORT,
                               "not": {"enum": ["default", "error"]}},
                    "operator": {"enum": list(OPERATORS), "default": "equals"},
                    "value": {},
                },
                "required": ["output"],
                "additionalProperties": False,
            }},
            "mode": {"enum": ["first", "all"], "default": "first",
                     "description": "first: the first matching case; all: every one."},
        },
        "required": ["value", "cases"],
        "additionalProperties": False,
    }

    @classmethod
    def outputs_for(cls, config) -> tuple[str, ...]:
        """The output ports a switch with this config has (for graph validation)."""
        cases = (config or {}).get("cases") if isinstance(config, dict) else None
        names = [case.get("output") for case in cases or () if isinstance(case, dict)]
        return tuple(dict.fromkeys(n for n in names if isinstance(n, str) and n)) + \
            cls.outputs

    def run(self, context: NodeContext) -> NodeResult:
        config = checked_config(self, context.config)
        value, ports = config["value"], []
        for case in config["cases"]:
            test = OPERATORS[case.get("operator", "equals")]
            if test(value, case.get("value")) and case["output"] not in ports:
                ports.append(case["output"])
                if config.get("mode", "first") == "first":
                    break
        return NodeResult(output=context.main, ports=tuple(ports) or ("default",))


@registry.register
class MergeNode(NodeType):
    key = "merge"
    name = "Merge"
    category = "core"
    description = ("Wait for every branch connected to it, then output their outputs: as a "
                   "list (one entry per branch), concatenated lists, or one object "
                   "(later branches win).")
    config_schema = {
        "type": "object",
        "properties": {"mode": {"enum": ["list", "concat", "object"], "default": "list"}},
        "additionalProperties": False,
    }

    def run(self, context: NodeContext) -> NodeResult:
        config = checked_config(self, context.config)
        outputs = branch_outputs(context, "main")
        mode = config.get("mode", "list")
        if mode == "list":
            return NodeResult(output=outputs)
        if mode == "concat":
            merged = []
            for output in outputs:
                merged.extend(output if isinstance(output, list) else [output])
            return NodeResult(output=merged)
        merged = {}
        for position, output in enumerate(outputs, start=1):
            if output is None:
                continue
            if not isinstance(output, dict):
                raise NodeError(f"mode: object merges objects; branch {position} gave a "
                                f"{type(output).__name__}.", retryable=False)
            merged.update(output)
        return NodeResult(output=merged)


def branch_outputs(context: NodeContext, port: str) -> list:
    """The outputs that arrived on ``port``, one per taken connection.

    The engine gives a port one output when one connection into it was taken and a list
    when several were; ``context.extra["fan_in"][port]`` (the number taken) tells a single
    output that is itself a list from several outputs.  Without it a list is taken as
    several outputs.
    """
    value = context.input.get(port)
    taken = (context.extra.get("fan_in") or {}).get(port)
    if taken is None:
        return list(value) if isinstance(value, list) else ([] if value is None else [value])
    if taken == 0:
        return []
    return [value] if taken == 1 else list(value)


@registry.register
class LoopNode(NodeType):
    key = "loop"
    name = "Loop over items"
    category = "core"
    description = ("Take a list (the input, or a JMESPath into it), optionally reshape each "
                   "item with a JMESPath transform, and output the results, in batches of "
                   "batch_size when set.")
    config_schema = {
        "type": "object",
        "properties": {
            "items": {"description": "The list (default: the node's input)."},
            "path": {"type": "string", "minLength": 1, "maxLength": 4000,
                     "description": "JMESPath selecting the list from the items."},
            "transform": {"type": "string", "minLength": 1, "maxLength": 4000,
                          "description": "JMESPath applied to each item."},
            "batch_size": {"type": "integer", "minimum": 1, "maximum": 100_000},
        },
        "additionalProperties": False,
    }

    def run(self, context: NodeContext) -> NodeResult:
        config = checked_config(self, context.config)
        items = config.get("items", context.main)
        if config.get("path"):
            items = search(config["path"], items, field="path")
        if items is None:
            items = []
        if not isinstance(items, list):
            raise NodeError(f"{'path' if config.get('path') else 'items'}: expected a list "
                            f"of items, got {type(items).__name__}.", retryable=False)
        if config.get("transform"):
            items = [search(config["transform"], item, field="transform") for item in items]
        size = config.get("batch_size")
        if size:
            items = [items[start:start + size] for start in range(0, len(items), size)]
        return NodeResult(output=items)

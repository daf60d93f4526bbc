"""The node types known to the engine, by key, and their config validation."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from .base import NodeType

#: Categories in picker order: key → (name, description).
CATEGORIES = {
    "triggers": ("Triggers", "Where an execution starts."),
    "core": ("Core", "Values, branches, merges and waits."),
    "data": ("Data", "Select and reshape JSON."),
    "integrations": ("Integrations", "Calls to the outside world."),
    "platform": ("Platform", "Reports, imports, email and sub-workflows."),
    "ai": ("AI", "Language models (with the agents app)."),
}

_TYPES: dict[str, type[NodeType]] = {}


def register(cls: type[NodeType]) -> type[NodeType]:
    if cls.category not in CATEGORIES:
        raise ValueError(f"{cls.__name__}: unknown category {cls.category!r}")
    Draft202012Validator.check_schema(cls.config_schema)
    _TYPES[cls.key] = cls
    return cls


def find(key: str) -> type[NodeType] | None:
    return _TYPES.get(key)


def all_types() -> list[type[NodeType]]:
    return sorted(_TYPES.values(), key=lambda t: (list(CATEGORIES).index(t.category), t.key))


def _has_expression(value) -> bool:
    return isinstance(value, str) and "{{" in value


def config_errors(node_type: type[NodeType], config) -> list[str]:
    """Problems with a node's config, each naming its path; values holding an
    expression are checked only once rendered, at run time."""
    if not isinstance(config, dict):
        return ["The config must be a JSON object."]
    problems = []
    validator = Draft202012Validator(node_type.config_schema)
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.path)):
        if _has_expression(error.instance):
            continue
        where = ".".join(str(p) for p in error.path) or "config"
        problems.append(f"{where}: {error.message}")
    return problems

"""Helpers the node types of this package share: checking the rendered config, finding a
workspace's object by id, the time an attempt has left."""

from __future__ import annotations

import time

from jsonschema import Draft202012Validator

from .base import NodeContext, NodeError, NodeType


def checked_config(node_type: type[NodeType] | NodeType, config) -> dict:
    """The rendered config, validated in full against the type's schema.

    At save time values holding expressions are not checked (``registry.config_errors``);
    here they are rendered, so a ``{{ ... }}`` that gave the wrong type is caught, naming
    its path, before the node does anything.
    """
    if not isinstance(config, dict):
        raise NodeError("The config must be a JSON object.", retryable=False)
    validator = Draft202012Validator(node_type.config_schema)
    problems = [f"{'.'.join(str(p) for p in error.path) or 'config'}: {error.message}"
                for error in sorted(validator.iter_errors(config), key=lambda e: list(e.path))]
    if problems:
        raise NodeError("Invalid config: " + "; ".join(problems), retryable=False)
    return config


def in_workspace(queryset, pk, context: NodeContext, *, field: str, label: str):
    """The object ``pk`` of the execution's workspace, or a NodeError naming the field.

    Another workspace's object gets the same answer as a missing one: a workflow learns
    nothing about other workspaces.
    """
    found = queryset.filter(pk=pk, workspace_id=context.workspace_id).first()
    if found is None:
        raise NodeError(f"{field}: there is no {label} #{pk} in this workspace.",
                        retryable=False)
    return found


def seconds_left(context: NodeContext, wanted: float) -> float:
    """``wanted`` seconds, or less when the attempt's deadline comes sooner."""
    if context.deadline is None:
        return wanted
    left = context.deadline - time.monotonic()
    if left <= 0:
        raise NodeError("The attempt ran out of time before the call.", retryable=True)
    return min(wanted, left)

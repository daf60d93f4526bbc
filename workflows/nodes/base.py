"""What a node type is: a class with a JSON Schema for its config and ``run(context)``.

Adding a node type is one class decorated with ``@registry.register`` in a module of
this package (listed in ``workflows/nodes/__init__.py``).  The engine renders the
config (expressions, secrets) before ``run`` and records what it returns on the span.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar


@dataclass
class NodeContext:
    """What one attempt of one node gets from the engine."""

    workspace_id: int
    execution_id: int
    node_key: str
    attempt: int
    #: The node's config with every expression rendered and secrets resolved.
    config: dict
    #: Per input port, the upstream output (a list of outputs when several feed one port).
    input: dict[str, Any]
    #: The execution's input (what the trigger received).
    execution_input: Any = None
    #: Stable per (execution, node, attempt): side-effecting nodes send it.
    idempotency_key: str = ""
    #: ``time.monotonic()`` value after which the attempt is over (None: no limit).
    deadline: float | None = None
    #: Sub-workflow nesting of this execution.
    depth: int = 0
    #: Secret values in use, for redaction; never stored.
    secret_values: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def main(self) -> Any:
        return self.input.get("main")


@dataclass
class NodeResult:
    output: Any = None
    #: The output port(s) the result travels on; the others are skipped downstream.
    ports: tuple[str, ...] = ("main",)
    #: A wait node: resume the execution at this time without holding a worker.
    wait_until: datetime | None = None


class NodeError(Exception):
    """A node failed with a message for the span; ``retryable`` ones are retried."""

    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class NodeType:
    key: ClassVar[str]
    name: ClassVar[str]
    category: ClassVar[str] = "core"
    description: ClassVar[str] = ""
    version: ClassVar[int] = 1
    config_schema: ClassVar[dict] = {"type": "object", "properties": {},
                                     "additionalProperties": False}
    inputs: ClassVar[tuple[str, ...]] = ("main",)
    outputs: ClassVar[tuple[str, ...]] = ("main",)
    is_trigger: ClassVar[bool] = False
    side_effects: ClassVar[bool] = False
    #: Seconds one attempt may take unless the node sets its own timeout.
    default_timeout: ClassVar[int] = 300

    @classmethod
    def outputs_for(cls, config) -> tuple[str, ...]:
        """The output ports a node with this config has (a switch names its own)."""
        return cls.outputs

    def run(self, context: NodeContext) -> NodeResult:
        raise NotImplementedError

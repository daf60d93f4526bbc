"""The domain events workflows emits (core.events): an execution finished.

Registered in ``WorkflowsConfig.ready()``; the engine emits them when an
execution's status becomes final (``workflows.execution.succeeded`` /
``workflows.execution.failed``), so one workflow can start another on its outcome.
"""

from __future__ import annotations

from core import events

EXECUTION_SUCCEEDED = "workflows.execution.succeeded"
EXECUTION_FAILED = "workflows.execution.failed"

_ID = {"type": "integer", "minimum": 1}
#: What every finished execution announces.
_EXECUTION = {
    "execution": {**_ID, "description": "The execution's id."},
    "workflow": {**_ID, "description": "The workflow's id."},
    "version": {**_ID, "description": "The number of the workflow version that ran."},
    "trace_id": {"type": "string", "pattern": "^[0-9a-f]{32}$",
                 "description": "The W3C trace id of the execution's spans."},
}

SUCCEEDED_SCHEMA = {
    "type": "object",
    "properties": {
        **_EXECUTION,
        "output": {"description": "The execution's output (any JSON value), or, when too "
                                  'large for the row, the marker {"$ref": "file", "bytes": n}'
                                  " of the stored file."},
    },
    "required": [*_EXECUTION, "output"],
    "additionalProperties": False,
}

FAILED_SCHEMA = {
    "type": "object",
    "properties": {
        **_EXECUTION,
        "status": {"enum": ["failed", "timed_out"]},
        "error": {"type": "string", "description": "Why it failed."},
        "failed_node": {"type": "string",
                        "description": "The key of the node that failed; empty when no "
                                       "node did (a timeout, a refusal before the start)."},
    },
    "required": [*_EXECUTION, "status", "error", "failed_node"],
    "additionalProperties": False,
}


def register() -> None:
    events.register(EXECUTION_SUCCEEDED, version=1, schema=SUCCEEDED_SCHEMA,
                    description="A workflow execution succeeded.")
    events.register(EXECUTION_FAILED, version=1, schema=FAILED_SCHEMA,
                    description="A workflow execution failed or timed out (a cancelled "
                                "one announces nothing).")

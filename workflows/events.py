"""The domain events workflows emits (core.events): an execution finished.

Registered in ``WorkflowsConfig.ready()``; the engine emits them when an
execution's status becomes final (``workflows.execution.succeeded`` /
``workflows.execution.failed``), so one workflow can start another on its outcome.
"""

from __future__ import annotations

from core import events

EXECUTION_SUCCEEDED = "workflows.execution.succeeded"
EXECUTION_FAILED = "workflows.execution.failed"


def register() -> None:
    events.register(EXECUTION_SUCCEEDED, version=1,
                    description="A workflow execution succeeded. Payload: execution, "
                                "workflow, version, trace_id, output.")
    events.register(EXECUTION_FAILED, version=1,
                    description="A workflow execution failed or timed out. Payload: "
                                "execution, workflow, version, trace_id, status, error, "
                                "failed_node.")

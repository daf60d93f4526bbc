"""Call a sub-workflow: run another workflow of the same workspace with an input.

The node starts the child execution (``execution_start`` with this span as its
caller) and returns ``Suspend``: its span waits ``pending``, holding no worker,
and the engine resumes it when the child finishes, with the child's output (or
its error, retried or routed like any failure).  Nesting is limited to
``WORKFLOW_MAX_DEPTH`` so a workflow calling itself cannot run away.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError

from . import registry
from .base import NodeContext, NodeError, NodeResult, NodeType


@registry.register
class SubWorkflowNode(NodeType):
    key = "subworkflow"
    name = "Call sub-workflow"
    category = "platform"
    description = ("Runs another workflow of this workspace (its live version) with the "
                   "given input and outputs its result; this execution waits for it "
                   "without holding a worker.")
    config_schema = {
        "type": "object",
        "properties": {
            "workflow": {"type": "integer", "minimum": 1,
                         "description": "The id of the workflow to run."},
            "input": {"description": "Its input (default: this node's input)."},
        },
        "required": ["workflow"],
        "additionalProperties": False,
    }
    default_timeout = 60  # starting the child; the wait for it is not an attempt

    def run(self, context: NodeContext) -> NodeResult:
        from ..engine.runner import Suspend
        from ..models import Execution, NodeExecution, Workflow
        from ..services.executions import execution_start

        span_id = context.extra.get("span_id")
        child = Execution.objects.filter(caller_id=span_id).first() if span_id else None
        if child is None:
            if context.depth + 1 > settings.WORKFLOW_MAX_DEPTH:
                raise NodeError(f"Sub-workflows nest at most {settings.WORKFLOW_MAX_DEPTH} "
                                "deep (WORKFLOW_MAX_DEPTH); this call would go deeper.",
                                retryable=False)
            workflow = Workflow.objects.filter(pk=context.config.get("workflow"),
                                               workspace_id=context.workspace_id).first()
            if workflow is None:
                raise NodeError(f"workflow: no workflow #{context.config.get('workflow')} in "
                                "this workspace.", retryable=False)
            payload = context.config.get("input", context.main)
            try:
                child = execution_start(
                    workflow=workflow, input=payload, source=Execution.Source.SUBWORKFLOW,
                    caller=NodeExecution.objects.get(pk=span_id))
            except ValidationError as exc:
                raise NodeError(f"input: {'; '.join(exc.messages)}", retryable=False) from exc
            except Exception as exc:  # ApiError: not published, archived
                message = getattr(exc, "message", None) or str(exc)
                raise NodeError(f"workflow: {message}", retryable=False) from exc
        if child.status == Execution.Status.SUCCEEDED:  # a re-claim after the child ended
            from ..engine import data

            return NodeResult(output=data.load(child, "output", "output_file"))
        if child.status in Execution.FINISHED:
            raise NodeError(f"Sub-workflow execution #{child.pk} {child.status}: {child.error}")
        return Suspend(output={"execution_id": child.pk})

"""The entry point of every workflow: passes the execution's input on."""

from . import registry
from .base import NodeContext, NodeResult, NodeType


@registry.register
class TriggerNode(NodeType):
    key = "trigger"
    name = "Trigger"
    category = "triggers"
    description = ("Where executions start, whatever started them (manual, webhook, "
                   "schedule, event); its output is the execution's input.")
    inputs = ()
    is_trigger = True

    def run(self, context: NodeContext) -> NodeResult:
        return NodeResult(output=context.execution_input)

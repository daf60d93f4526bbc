"""Workflows: graphs of nodes (definitions), their published versions and live
deployments, the triggers that start them, and each run (executions and spans)."""

from .catalogue import NodeCategory, NodeType
from .definitions import (
    Connection,
    Deployment,
    Node,
    Trigger,
    Workflow,
    WorkflowShare,
    WorkflowVersion,
)
from .executions import Execution, ExecutionMetric, NodeExecution
from .templates import (
    NodeRating,
    NodeTemplate,
    TemplateCollection,
    TemplateFavorite,
    TemplateInstallation,
    TemplateReview,
    WorkflowTemplate,
)

__all__ = [
    "Connection",
    "Deployment",
    "Execution",
    "ExecutionMetric",
    "Node",
    "NodeCategory",
    "NodeExecution",
    "NodeRating",
    "NodeTemplate",
    "NodeType",
    "TemplateCollection",
    "TemplateFavorite",
    "TemplateInstallation",
    "TemplateReview",
    "Trigger",
    "Workflow",
    "WorkflowShare",
    "WorkflowTemplate",
    "WorkflowVersion",
]

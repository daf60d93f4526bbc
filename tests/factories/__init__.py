"""factory_boy factories, one module per app; every factory is importable from here.

``factory_for(model)`` finds a model's factory for the generic contract tests, so every
module must be imported below (a factory is found only once its class exists).
"""

from .accounts import (
    ApiTokenFactory,
    GroupFactory,
    LoginAttemptFactory,
    StaticDeviceFactory,
    TOTPDeviceFactory,
    UserFactory,
)
from .analytics import CONTRACT_EXTRA as _ANALYTICS_EXTRA
from .analytics import (
    ClientFactory,
    ImportJobFactory,
    InventoryRecordFactory,
    SaleRecordFactory,
)
from .core import AuditEntryFactory, factory_for
from .platform import (
    ClockedScheduleFactory,
    CrontabScheduleFactory,
    GroupResultFactory,
    IntervalScheduleFactory,
    PeriodicTaskFactory,
    SolarScheduleFactory,
    TaskResultFactory,
)
from .reports import ReportDefinitionFactory, ReportDeliveryFactory, ReportRunFactory
from .workflows import (
    ConnectionFactory,
    DeploymentFactory,
    ExecutionFactory,
    ExecutionMetricFactory,
    NodeCategoryFactory,
    NodeExecutionFactory,
    NodeFactory,
    NodeTypeFactory,
    TriggerFactory,
    WorkflowFactory,
    WorkflowShareFactory,
    WorkflowVersionFactory,
)
from .workspaces import CONTRACT_EXTRA as _WORKSPACES_EXTRA
from .workspaces import (
    SAME_WORKSPACE,
    ActivityFactory,
    ApiKeyFactory,
    FileFactory,
    InvitationFactory,
    MembershipFactory,
    ProjectCollaboratorFactory,
    ProjectCommentFactory,
    ProjectFactory,
    ProjectVersionFactory,
    RoleFactory,
    SecretAccessFactory,
    SecretFactory,
    TagFactory,
    WorkspaceFactory,
    WorkspaceFeatureFactory,
)

#: Write-only fields the generic contract tests must add to a create body, by model.
CONTRACT_EXTRA = {**_WORKSPACES_EXTRA, **_ANALYTICS_EXTRA}

__all__ = [
    "CONTRACT_EXTRA",
    "SAME_WORKSPACE",
    "ActivityFactory",
    "ApiKeyFactory",
    "ApiTokenFactory",
    "AuditEntryFactory",
    "ClientFactory",
    "ClockedScheduleFactory",
    "ConnectionFactory",
    "CrontabScheduleFactory",
    "DeploymentFactory",
    "ExecutionFactory",
    "ExecutionMetricFactory",
    "FileFactory",
    "GroupFactory",
    "GroupResultFactory",
    "ImportJobFactory",
    "IntervalScheduleFactory",
    "InventoryRecordFactory",
    "InvitationFactory",
    "LoginAttemptFactory",
    "MembershipFactory",
    "NodeCategoryFactory",
    "NodeExecutionFactory",
    "NodeFactory",
    "NodeTypeFactory",
    "PeriodicTaskFactory",
    "ProjectCollaboratorFactory",
    "ProjectCommentFactory",
    "ProjectFactory",
    "ProjectVersionFactory",
    "ReportDefinitionFactory",
    "ReportDeliveryFactory",
    "ReportRunFactory",
    "RoleFactory",
    "SaleRecordFactory",
    "SecretAccessFactory",
    "SecretFactory",
    "SolarScheduleFactory",
    "StaticDeviceFactory",
    "TOTPDeviceFactory",
    "TagFactory",
    "TaskResultFactory",
    "TriggerFactory",
    "UserFactory",
    "WorkflowFactory",
    "WorkflowShareFactory",
    "WorkflowVersionFactory",
    "WorkspaceFactory",
    "WorkspaceFeatureFactory",
    "factory_for",
]

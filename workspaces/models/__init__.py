"""Workspaces models, one module per subdomain."""

from .content import Activity, File, Tag, WorkspaceFeature
from .keys import ApiKey
from .membership import Invitation, Membership, Role
from .projects import Project, ProjectCollaborator, ProjectComment, ProjectVersion
from .secrets import Secret, SecretAccess
from .workspace import Workspace

__all__ = [
    "Activity", "ApiKey", "File", "Invitation", "Membership", "Project", "ProjectCollaborator",
    "ProjectComment", "ProjectVersion", "Role", "Secret", "SecretAccess", "Tag", "Workspace",
    "WorkspaceFeature",
]

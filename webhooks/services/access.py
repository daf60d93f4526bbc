"""The role rule every door shares: workspace admins manage endpoints and replay."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from core import tenancy

from ..models import WebhookEndpoint

REFUSED = "Only the workspace's admins manage webhook endpoints and their deliveries."


def require(principal, obj, action: str = "change") -> None:
    """403 unless ``principal`` may ``action`` ``obj`` (None: the system, always may)."""
    if principal is not None and not tenancy.can(principal, obj, action):
        raise PermissionDenied(REFUSED)


def require_in_workspace(principal, workspace) -> None:
    if principal is not None and not tenancy.can_in_workspace(
            principal, workspace, WebhookEndpoint, "add"):
        raise PermissionDenied(REFUSED)

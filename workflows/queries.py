"""Reads over workflows: who may run a workflow, and the catalogue's querysets.

``can_run`` is the one rule for "may start an execution": the API's ``execute/``,
``rerun/`` and the admin ask it rather than testing roles themselves.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from core import tenancy

from .models import NodeCategory, NodeType, Workflow, WorkflowShare

#: Share levels that allow starting executions, and editing.
RUN_ACCESS = (WorkflowShare.Access.RUN, WorkflowShare.Access.EDIT)


def shares_for(user, workflow: Workflow) -> QuerySet:
    """The shares of ``workflow`` that name ``user`` or their custom role in its workspace."""
    from workspaces.models import Membership

    if getattr(user, "pk", None) is None:
        return WorkflowShare.objects.none()
    roles = (Membership.objects.filter(user_id=user.pk, workspace_id=workflow.workspace_id,
                                       custom_role__isnull=False)
             .values("custom_role_id"))
    return WorkflowShare.objects.filter(workflow=workflow).filter(
        Q(user_id=user.pk) | Q(role_id__in=roles))


def share_grants(user, workflow: Workflow, access=RUN_ACCESS) -> bool:
    """Does a share give ``user`` one of ``access`` on ``workflow``? (Members only.)"""
    from workspaces.queries import is_member

    return (is_member(user, workflow.workspace_id)
            and shares_for(user, workflow).filter(access__in=access).exists())


def can_run(principal: tenancy.Principal, workflow: Workflow) -> bool:
    """Start executions: a role that may change the workflow, or a run/edit share."""
    if tenancy.can(principal, workflow, "change"):
        return True
    return principal.api_key is None and principal.user is not None and \
        share_grants(principal.user, workflow)


def node_types() -> QuerySet:
    return NodeType.objects.select_related("category")


def node_categories() -> QuerySet:
    return NodeCategory.objects.all()

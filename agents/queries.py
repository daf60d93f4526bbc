"""Reads over agents: who may use (chat with) or edit an agent.

``can_use`` and ``can_edit`` are the one rule for every door (API, admin, triggers,
workflow nodes); nothing else tests roles for agents.

* ``workspace`` access mode: roles that may change agents (member and up) use and edit
  them; a viewer needs a grant (``AgentAccess``: use or edit, to them or their custom role).
* ``restricted``: admins and owners, and those granted access, nobody else.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from core import tenancy

from .models import Agent, AgentAccess

USE_ACCESS = (AgentAccess.Access.USE, AgentAccess.Access.EDIT)
EDIT_ACCESS = (AgentAccess.Access.EDIT,)


def grants_for(user, agent: Agent) -> QuerySet:
    """The grants on ``agent`` naming ``user`` or their custom role in its workspace."""
    from workspaces.models import Membership

    if getattr(user, "pk", None) is None:
        return AgentAccess.objects.none()
    roles = (Membership.objects.filter(user_id=user.pk, workspace_id=agent.workspace_id,
                                       custom_role__isnull=False)
             .values("custom_role_id"))
    return AgentAccess.objects.filter(agent=agent).filter(Q(user_id=user.pk) | Q(role_id__in=roles))


def _granted(principal: tenancy.Principal, agent: Agent, access) -> bool:
    from workspaces.queries import is_member

    user = principal.user
    return (principal.api_key is None and user is not None
            and is_member(user, agent.workspace_id)
            and grants_for(user, agent).filter(access__in=access).exists())


def _manages(principal: tenancy.Principal, agent: Agent) -> bool:
    """Admins and owners of the agent's workspace (they manage access itself)."""
    return tenancy.can_in_workspace(principal, agent.workspace, AgentAccess, "add")


def _allowed(principal: tenancy.Principal, agent: Agent, access) -> bool:
    if principal is None or not principal.is_authenticated:
        return False
    if not tenancy.can(principal, agent, "view"):
        return False
    if agent.access_mode == Agent.AccessMode.RESTRICTED:
        return _manages(principal, agent) or _granted(principal, agent, access)
    return tenancy.can(principal, agent, "change") or _granted(principal, agent, access)


def can_use(principal: tenancy.Principal, agent: Agent) -> bool:
    """Chat with the agent (API, admin test chat, playground on its behalf)."""
    return _allowed(principal, agent, USE_ACCESS)


def can_edit(principal: tenancy.Principal, agent: Agent) -> bool:
    """Change the agent, its versions, tools, triggers and quotas."""
    return _allowed(principal, agent, EDIT_ACCESS)

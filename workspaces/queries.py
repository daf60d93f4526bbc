"""Reads over workspace membership: who belongs, with which role, who owns.

Other apps (reports, the admin, the API) ask these instead of writing their own
``Membership`` filters, so "a member" means the same thing everywhere. Every
function takes model instances or primary keys.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from core import tenancy

from .models import Membership, Workspace


def _pk(value) -> int | None:
    return getattr(value, "pk", value)


def membership_of(user, workspace) -> Membership | None:
    return (Membership.objects.select_related("user")
            .filter(user_id=_pk(user), workspace_id=_pk(workspace)).first())


def is_member(user, workspace) -> bool:
    if _pk(user) is None or _pk(workspace) is None:
        return False
    return Membership.objects.filter(user_id=_pk(user), workspace_id=_pk(workspace)).exists()


def member_role(user, workspace) -> str | None:
    """The user's base role in the workspace (``owner`` … ``viewer``), ``None`` if not a member."""
    return (Membership.objects.filter(user_id=_pk(user), workspace_id=_pk(workspace))
            .values_list("role", flat=True).first())


def member_user_ids(workspace) -> QuerySet:
    """The members' user ids, as a subquery (``pk__in=member_user_ids(w)``)."""
    return Membership.objects.filter(workspace_id=_pk(workspace)).values("user_id")


def active_member_users(workspace) -> QuerySet:
    """Members whose account is active, by email."""
    return (get_user_model()._default_manager
            .filter(pk__in=member_user_ids(workspace), is_active=True).order_by("email"))


def workspace_owner(workspace: Workspace | int):
    """The owner's user (every workspace has exactly one), ``None`` if somehow missing."""
    membership = (Membership.objects.select_related("user")
                  .filter(workspace_id=_pk(workspace), role=tenancy.OWNER).first())
    return membership.user if membership is not None else None

"""Tenancy: the one answer to "which rows may this user or API key see, and do what".

Every workspace-owned model subclasses ``WorkspaceScoped`` (a foreign key to
``settings.TENANCY_WORKSPACE_MODEL``).  ``visible()`` narrows any queryset to
what a principal may see or change; viewsets, admin changelists, filter
choices, autocompletes and serializer related fields all call it, so no
queryset reaches a caller unscoped.  Other tenants' rows are simply absent:
they answer 404.

Roles rank owner > admin > member > viewer.  Viewers read; members write
content; admins manage members, invitations, keys, features and secrets
(models declare ``tenancy_write_role = "admin"``); owners delete or transfer
the workspace.

The kernel knows no app above it.  Models declare their tenancy
(``tenancy_scope_field``: the column holding the workspace id, ``"pk"`` for
the workspace model itself; ``tenancy_roles``: per-action overrides of
``tenancy_write_role``).  Who belongs where is the policy's business
(``settings.TENANCY_POLICY``, see ``TenancyPolicy``): memberships, custom
roles, which credential acts for a single workspace.
"""

from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils.module_loading import import_string

VIEWER, MEMBER, ADMIN, OWNER = "viewer", "member", "admin", "owner"
RANK = {VIEWER: 0, MEMBER: 1, ADMIN: 2, OWNER: 3}
ACTIONS = ("view", "add", "change", "delete")


class TenancyPolicy(Protocol):
    """Who belongs where: the one thing the kernel asks the app that owns memberships."""

    def workspace_key(self, auth):
        """The credential on ``request.auth`` acting for one workspace (None if not one).

        It carries ``workspace_id`` and ``role``.
        """

    def workspace_ids(self, user, model, action: str, role: str):
        """Ids (a list or a ``values("workspace_id")`` queryset) of the workspaces where
        ``user`` may ``action`` rows of ``model``, ``role`` being the least role for it."""

    def member_workspace_ids(self, user):
        """Ids of every workspace ``user`` belongs to, whatever the role."""

    def member_user_ids(self, workspace_ids):
        """Ids of the users belonging to any of ``workspace_ids``."""


@cache
def policy() -> TenancyPolicy:
    path = getattr(settings, "TENANCY_POLICY", None)
    if not path:
        raise ImproperlyConfigured("TENANCY_POLICY must name the tenancy policy class, "
                                   "e.g. 'workspaces.policy.MembershipPolicy'.")
    return import_string(path)()


@receiver(setting_changed)
def _forget_policy(*, setting, **kwargs) -> None:
    if setting == "TENANCY_POLICY":
        policy.cache_clear()


class WorkspaceScoped(models.Model):
    """Abstract base of every workspace-owned row."""

    workspace = models.ForeignKey(settings.TENANCY_WORKSPACE_MODEL, on_delete=models.CASCADE,
                                  related_name="+")

    #: The column holding the row's workspace id.
    tenancy_scope_field = "workspace_id"
    #: The least role that may add, change or delete rows of the model.
    tenancy_write_role = MEMBER

    class Meta:
        abstract = True


def is_scoped(model) -> bool:
    return getattr(model, "tenancy_scope_field", None) is not None


def roles_at_least(role: str) -> list[str]:
    return [r for r, rank in RANK.items() if rank >= RANK[role]]


def required_role(model, action: str) -> str:
    if action == "view":
        return VIEWER
    declared = getattr(model, "tenancy_roles", {})
    return declared.get(action, getattr(model, "tenancy_write_role", MEMBER))


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user, or an API key acting for one workspace."""

    user: object = None
    api_key: object = None

    @property
    def is_authenticated(self) -> bool:
        return self.api_key is not None or bool(self.user and self.user.is_authenticated)

    @property
    def sees_everything(self) -> bool:
        return self.api_key is None and bool(self.user and self.user.is_superuser)


def principal_for(request) -> Principal:
    key = policy().workspace_key(getattr(request, "auth", None))
    if key is not None:
        return Principal(api_key=key)
    user = getattr(request, "user", None)
    return Principal(user=user if user is not None and user.is_authenticated else None)


def workspace_ids(principal: Principal, model, action: str = "view"):
    """Ids of workspaces where ``principal`` may do ``action`` on ``model`` (None: all)."""
    if principal.sees_everything:
        return None
    role = required_role(model, action)
    if principal.api_key is not None:
        key = principal.api_key
        return [key.workspace_id] if RANK[key.role] >= RANK[role] else []
    if principal.user is None:
        return []
    return policy().workspace_ids(principal.user, model, action, role)


def visible(queryset, principal: Principal, action: str = "view"):
    """``queryset`` narrowed to the rows ``principal`` may ``action``."""
    ids = workspace_ids(principal, queryset.model, action)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{queryset.model.tenancy_scope_field}__in": ids})


def can(principal: Principal, obj, action: str) -> bool:
    return visible(type(obj)._default_manager.filter(pk=obj.pk), principal, action).exists()


def can_in_workspace(principal: Principal, workspace, model, action: str) -> bool:
    ids = workspace_ids(principal, model, action)
    if ids is None:
        return True
    if isinstance(ids, list):
        return workspace.pk in ids
    return ids.filter(workspace_id=workspace.pk).exists()


def visible_users(principal: Principal):
    """Users sharing a workspace with ``principal`` (all users for superusers)."""
    from django.contrib.auth import get_user_model

    users = get_user_model()._default_manager.all()
    if principal.sees_everything:
        return users
    if principal.api_key is not None:
        ids = [principal.api_key.workspace_id]
    elif principal.user is None:
        return users.none()
    else:
        ids = policy().member_workspace_ids(principal.user)
    return users.filter(pk__in=policy().member_user_ids(ids))


def scope_related(queryset, principal: Principal, owner_model=None):
    """A related-object queryset narrowed for ``principal``: the one rule for pickers.

    Workspace-owned targets are narrowed to visible rows; users, when picked
    for a workspace-owned row, to people sharing a workspace with the caller.
    """
    from django.contrib.auth import get_user_model

    queryset = queryset.all()  # managers too
    if is_scoped(queryset.model):
        return visible(queryset, principal)
    if owner_model is not None and is_scoped(owner_model) and \
            queryset.model is get_user_model():
        if principal.sees_everything:
            return queryset
        return queryset.filter(pk__in=visible_users(principal).values("pk"))
    return queryset
